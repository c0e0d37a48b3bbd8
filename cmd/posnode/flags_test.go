package main

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/posnode/posnode/chain"
	"github.com/posnode/posnode/p2p"
)

func TestNATFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantReach p2p.Reachability
		wantRelay bool
		wantErr   string
	}{
		{"defaults", nil, nil, p2p.ReachabilityUnknown, false, ""},
		{"relay service", []string{"--relay-service"}, nil, p2p.ReachabilityUnknown, true, ""},
		{"relay service from env", nil, map[string]string{"POSNODE_RELAY_SERVICE": "true"}, p2p.ReachabilityUnknown, true, ""},
		{"flag beats env", []string{"--relay-service=false"}, map[string]string{"POSNODE_RELAY_SERVICE": "true"}, p2p.ReachabilityUnknown, false, ""},
		{"private", []string{"--reachability", "private"}, nil, p2p.ReachabilityPrivate, false, ""},
		{"public from env", nil, map[string]string{"POSNODE_REACHABILITY": "public"}, p2p.ReachabilityPublic, false, ""},
		{"unknown word", []string{"--reachability", "natted"}, nil, 0, false, "--reachability"},
		{"private relay", []string{"--reachability", "private", "--relay-service"}, nil, 0, false, "--relay-service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			nat := natFlags(fs)
			if _, err := parse(fs, tt.args); err != nil {
				t.Fatalf("parse: %v", err)
			}
			reach, relay, err := nat()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || reach != tt.wantReach || relay != tt.wantRelay {
				t.Errorf("got %s, relay %v, %v; want %s, relay %v", reach, relay, err, tt.wantReach, tt.wantRelay)
			}
		})
	}
}

// --checkpoint reads EPOCH:HASH from the command line or POSNODE_CHECKPOINT and refuses anything else, naming
// what is wrong.
func TestCheckpointFlag(t *testing.T) {
	h := chain.HashBytes([]byte("cp"))
	for _, tt := range []struct {
		name    string
		args    []string
		env     string
		want    string
		wantErr string
	}{
		{"unset", nil, "", "", ""},
		{"flag", []string{"--checkpoint", "7:" + h.String()}, "", "7:" + h.String(), ""},
		{"env", nil, "9:" + h.String(), "9:" + h.String(), ""},
		{"flag beats env", []string{"--checkpoint", "7:" + h.String()}, "9:" + h.String(), "7:" + h.String(), ""},
		{"no colon", []string{"--checkpoint", h.String()}, "", "", "want EPOCH:HASH"},
		{"bad epoch", []string{"--checkpoint", "x:" + h.String()}, "", "", "not a decimal number"},
		{"short hash", []string{"--checkpoint", "7:abcd"}, "", "", "want 64 hex digits"},
		{"bad env", nil, "7:abcd", "", "POSNODE_CHECKPOINT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("POSNODE_CHECKPOINT", tt.env)
			}
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var cp checkpointFlag
			fs.Var(&cp, "checkpoint", "")
			_, err := parse(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cp.String() != tt.want {
				t.Errorf("got %q, %v; want %q", cp.String(), err, tt.want)
			}
		})
	}
}
