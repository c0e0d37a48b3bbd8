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

// RouteLibraryLogs sends go-libp2p's own logs (transports, swarm, identify, mDNS) to l, held to
// warnings and errors. Unlike gossipsub's logs, which each Host routes to its Config.Logger,
// go-libp2p's loggers are process-wide: call this once, early in main, before any Host exists.
// Without it they go to stderr at error level (tunable with GOLOG_LOG_LEVEL).
func RouteLibraryLogs(l *zap.Logger) {
	gologshim.SetDefaultHandler(libraryLogger(l, "libp2p").Handler())
}
