//go:build unix

package prompt

import (
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// watchWinch calls resize on every SIGWINCH (the terminal's size changed) until the returned stop is called;
// stop waits for the watching goroutine to end.
func watchWinch(resize func()) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGWINCH)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-sig:
				resize()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(sig)
			close(done)
			wg.Wait()
		})
	}
}
