package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/posnode/posnode/p2p"
)

// LogFile is the name of the node's log file in its data directory, where the log goes when the prompt is on a
// terminal (logSink).
const LogFile = "posnode.log"

// Rotation of the log file: a file is kept to logMaxMB megabytes, with logBackups older ones beside it.
const (
	logMaxMB   = 64
	logBackups = 3
)

// logSink is where a node's log goes.
type logSink struct {
	w    io.Writer // the log at its level
	tee  io.Writer // also gets WARN and above; nil when w is the terminal or stderr
	path string    // the log file; "" for stderr or the terminal
}

// chooseLogSink decides where the log goes, from --log-file (flag) and whether the prompt is on a terminal:
// "-" is stderr (above the typed line on a terminal); a path is that file; "" is <data>/posnode.log when the
// prompt is on a terminal, so that log lines do not interleave with the prompt's, and stderr otherwise (docker
// logs, the journal). When the log goes to a file and the prompt is on a terminal, WARN and above reach the
// terminal too. term is the console to write to on a terminal, nil otherwise.
func chooseLogSink(flag, dataDir string, term io.Writer) (logSink, error) {
	path := flag
	if path == "" && term != nil {
		path = filepath.Join(dataDir, LogFile)
	}
	if path == "" || path == "-" {
		if term != nil {
			return logSink{w: term}, nil
		}
		return logSink{w: os.Stderr}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return logSink{}, fmt.Errorf("--log-file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return logSink{}, fmt.Errorf("--log-file: %w", err)
	}
	f.Close()
	w := &lumberjack.Logger{Filename: path, MaxSize: logMaxMB, MaxBackups: logBackups}
	return logSink{w: w, tee: term, path: path}, nil
}

// newLogger builds the node's logger writing to s.w at level, and WARN and above to s.tee, if set, in the
// console format.
func newLogger(format, level string, s logSink) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	case "console":
		enc = consoleEncoder()
	default:
		return nil, fmt.Errorf("--log-format: want console or json, got %q", format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(s.w)), lvl)
	if s.tee != nil {
		warn := zap.LevelEnablerFunc(func(l zapcore.Level) bool { return l >= zapcore.WarnLevel && l >= lvl })
		screen := screenCore{zapcore.NewCore(consoleEncoder(), zapcore.Lock(zapcore.AddSync(s.tee)), warn)}
		core = zapcore.NewTee(core, screen)
	}
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(zapcore.Lock(os.Stderr))), nil
}

// screenCore is the terminal's copy of the log: the node's warnings and errors, never a library's (libp2p's
// identify warnings when a peer goes away, p2p.IsLibraryLog), which stay in the log file at every level.
type screenCore struct{ zapcore.Core }

func (c screenCore) With(fields []zapcore.Field) zapcore.Core { return screenCore{c.Core.With(fields)} }

func (c screenCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if p2p.IsLibraryLog(e.LoggerName) {
		return ce
	}
	return c.Core.Check(e, ce)
}

func consoleEncoder() zapcore.Encoder {
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	return zapcore.NewConsoleEncoder(ec)
}

// cmdLogs prints a node's log file, and with --follow what is appended to it: a node whose prompt is on a
// terminal (a docker container) logs there, and its image has no tail.
func cmdLogs(args []string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	data := fs.String("data", defaultHome(), "the node's data directory (its --data, or its --home)")
	file := fs.String("log-file", "", "the log file (default: <data>/"+LogFile+")")
	follow := fs.Bool("follow", false, "keep printing what is appended, until interrupted")
	all := fs.Bool("all", false, "print the whole file, not its last 32 KiB")
	fs.Usage = usage(fs, "logs [flags]", "Prints the log file of a node whose prompt is on a terminal.")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	path := *file
	if path == "" {
		path = filepath.Join(*data, LogFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := io.Reader(f)
	if !*all {
		if r, err = lastLines(f, logTail); err != nil {
			return err
		}
	}
	return copyLog(os.Stdout, r, *follow, 500*time.Millisecond)
}

// logTail is how much of the log file's end posnode logs prints without --all.
const logTail = 32 << 10

// lastLines returns f read from its whole lines within its last n bytes on.
func lastLines(f *os.File, n int64) (io.Reader, error) {
	st, err := f.Stat()
	if err != nil || st.Size() <= n {
		return f, err
	}
	if _, err := f.Seek(st.Size()-n, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	if _, err := br.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return br, nil
}

// copyLog copies r to w, then, with follow, what is appended to r, polling every pause.
func copyLog(w io.Writer, r io.Reader, follow bool, pause time.Duration) error {
	br := bufio.NewReader(r)
	for {
		_, err := io.Copy(w, br)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if !follow {
			return nil
		}
		time.Sleep(pause)
	}
}
