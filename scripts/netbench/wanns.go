package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// nsDialer returns a DialContext that opens its connections inside network namespace ns (named as by `ip netns`):
// a goroutine locks its OS thread, enters the namespace and dials; the socket stays in that namespace. The thread
// is never unlocked, so it ends with the goroutine instead of going back to the scheduler in a foreign namespace.
func nsDialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	path := "/run/netns/" + ns
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		done := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				done <- result{nil, fmt.Errorf("open %s: %w", path, err)}
				return
			}
			defer unix.Close(fd)
			if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
				done <- result{nil, fmt.Errorf("enter %s: %w", ns, err)}
				return
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			done <- result{c, err}
		}()
		r := <-done
		return r.c, r.err
	}
}

// nsClient is an HTTP client whose connections open inside namespace ns; timeout 0 is none (event streams).
func nsClient(ns string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: nsDialer(ns), MaxIdleConnsPerHost: 8}}
}
