package p2p

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

// noStacktrace is a level no library logs at.
const noStacktrace = slog.Level(1 << 30)

// libraryLogger adapts l for a library that logs through log/slog. Libraries report routine events
// at info level, so they are held to warnings and errors unless l is already stricter. Their errors
// come without stack traces: whatever fails is returned to the node too, which reports it in one line.
func libraryLogger(l *zap.Logger, name string) *slog.Logger {
	core := l.Core()
	if core.Enabled(zapcore.InfoLevel) {
		if c, err := zapcore.NewIncreaseLevelCore(core, zapcore.WarnLevel); err == nil {
			core = c
		}
	}
	return slog.New(zapslog.NewHandler(core, zapslog.WithName(name), zapslog.AddStacktraceAt(noStacktrace)))
}

// The names of the loggers the libraries log through (zap's LoggerName of their entries): go-libp2p's, routed by
// RouteLibraryLogs, and gossipsub's, which each Host routes to its Config.Logger.
const (
	libp2pLogger = "libp2p"
	pubsubLogger = "pubsub"
)

// IsLibraryLog reports whether an entry with zap LoggerName name comes from a library p2p uses (go-libp2p,
// gossipsub) rather than from posnode: a peer that goes away is a warning to them, not news for a user, so a
// screen that shows the node's warnings leaves these to the log file.
func IsLibraryLog(name string) bool {
	return name == libp2pLogger || name == pubsubLogger
}

// RouteLibraryLogs sends go-libp2p's own logs (transports, swarm, identify, mDNS) to l, held to
// warnings and errors. Unlike gossipsub's logs, which each Host routes to its Config.Logger,
// go-libp2p's loggers are process-wide: call this once, early in main, before any Host exists.
// Without it they go to stderr at error level (tunable with GOLOG_LOG_LEVEL).
func RouteLibraryLogs(l *zap.Logger) {
	gologshim.SetDefaultHandler(libraryLogger(l, libp2pLogger).Handler())
}

// Libp2pLogger returns a logger as go-libp2p's subsystem system ("net/identify", "swarm2") makes one: it logs
// where RouteLibraryLogs last sent go-libp2p's logs before its first line. It lets a caller check where those
// lines end up without importing go-libp2p.
func Libp2pLogger(system string) *slog.Logger {
	return gologshim.Logger(system)
}
