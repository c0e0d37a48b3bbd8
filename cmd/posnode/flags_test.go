package main

import (
	"flag"
	"io"
	"strings"
	"testing"

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
