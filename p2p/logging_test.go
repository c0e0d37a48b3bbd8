package p2p

import (
	"context"
	"slices"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLibraryLogger(t *testing.T) {
	tests := []struct {
		name  string
		level zapcore.Level
		want  []string // messages that get through, in order
	}{
		{"debug logger holds libraries to warnings", zapcore.DebugLevel, []string{"warn", "error"}},
		{"info logger holds libraries to warnings", zapcore.InfoLevel, []string{"warn", "error"}},
		{"error logger stays stricter", zapcore.ErrorLevel, []string{"error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(tt.level)
			l := libraryLogger(zap.New(core), "pubsub")
			ctx := context.Background()
			l.DebugContext(ctx, "debug")
			l.InfoContext(ctx, "info")
			l.WarnContext(ctx, "warn", "peer", "x")
			l.ErrorContext(ctx, "error")
			var got []string
			for _, e := range logs.All() {
				got = append(got, e.Message)
				if e.LoggerName != "pubsub" {
					t.Errorf("logger name: got %q, want %q", e.LoggerName, "pubsub")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
