package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// proxyCommand is the hidden subcommand the WAN testbed runs inside each node's namespace when the kernel has no
// netem: `netbench wan-proxy -listen ADDR -upstream ADDR -latency D -jitter D`.
const proxyCommand = "wan-proxy"

// proxyMain runs a toxiproxy TCP proxy from listen to upstream that delays each direction of every connection by
// latency ± jitter (uniform), until SIGINT or SIGTERM. The delay applies to each chunk read from the stream, not to
// each packet: chunks of one stream never overtake each other.
func proxyMain(args []string) error {
	fs := flag.NewFlagSet(proxyCommand, flag.ContinueOnError)
	listen := fs.String("listen", fmt.Sprintf("0.0.0.0:%d", proxyPort), "address the proxy accepts connections on")
	upstream := fs.String("upstream", fmt.Sprintf("127.0.0.1:%d", p2pPort), "address it forwards them to")
	latency := fs.Duration("latency", 50*time.Millisecond, "delay added to each direction")
	jitter := fs.Duration("jitter", 10*time.Millisecond, "the delay varies by up to this much either way")
	if err := fs.Parse(args); err != nil {
		return err
	}
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "node", *listen, *upstream)
	if err := p.Start(); err != nil {
		return fmt.Errorf("proxy %s → %s: %w", *listen, *upstream, err)
	}
	defer p.Stop()
	for _, stream := range []string{"upstream", "downstream"} {
		spec := fmt.Sprintf(`{"type":"latency","stream":%q,"attributes":{"latency":%d,"jitter":%d}}`, stream,
			latency.Milliseconds(), jitter.Milliseconds())
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
			return fmt.Errorf("latency toxic %s: %w", stream, err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}
