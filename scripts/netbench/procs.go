package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every Linux architecture Go
// supports.
const clockTicks = 100

// procTestnet is a `posnode testnet` directory whose nodes run as `posnode run` processes.
type procTestnet struct {
	dir      string
	baseHTTP int
	procs    []*exec.Cmd
	exited   []chan error
}

// freePorts finds a base port such that base..base+n-1 are all free on 127.0.0.1 (at the time of asking).
func freePorts(n int) (int, error) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(os.Getpid())))
	for range 50 {
		base := 20000 + rng.IntN(30000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no free port range on 127.0.0.1")
}

// startProcTestnet writes a testnet of n nodes with `posnode testnet` and starts every node.
func startProcTestnet(bin string, n int, slot time.Duration) (*procTestnet, error) {
	dir, err := os.MkdirTemp("", "netbench-procs-")
	if err != nil {
		return nil, err
	}
	base, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	t := &procTestnet{dir: dir, baseHTTP: base + n}
	out, err := exec.Command(bin, "testnet", "--dir", dir, "--nodes", strconv.Itoa(n), "--slot", slot.String(),
		"--start-in", "3s", "--base-port", strconv.Itoa(base), "--base-http", strconv.Itoa(t.baseHTTP),
		"--chain-id", "netbench-procs").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("posnode testnet: %w: %s", err, out)
	}
	for i := range n {
		if err := t.startNode(bin, i); err != nil {
			t.stop()
			return nil, err
		}
	}
	return t, nil
}

func (t *procTestnet) home(i int) string { return filepath.Join(t.dir, fmt.Sprintf("node%d", i+1)) }

func (t *procTestnet) api(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", t.baseHTTP+i) }

// token reads node i's API token, which `posnode testnet` wrote into its home.
func (t *procTestnet) token(i int) (string, error) {
	b, err := os.ReadFile(filepath.Join(t.home(i), "api-token"))
	return strings.TrimSpace(string(b)), err
}

func (t *procTestnet) startNode(bin string, i int) error {
	return t.startProc(filepath.Join(t.home(i), "node.log"), bin, "run", "--home", t.home(i), "--no-prompt",
		"--mdns=false", "--log-level", "warn")
}

// startProc starts a process of the testnet, its output in logPath; stop ends it with the nodes.
func (t *procTestnet) startProc(logPath, name string, args ...string) error {
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a Ctrl-C in the terminal reaches only this program, which stops it. (No
	// Pdeathsig: it fires when the forking OS thread ends, which in Go can be long before this program does.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.procs, t.exited = append(t.procs, cmd), append(t.exited, exited)
	return nil
}

// stop sends SIGTERM to every node it started, waits up to 10 s for each, kills those still running, and removes
// the directory.
func (t *procTestnet) stop() {
	for _, p := range t.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for i, p := range t.procs {
		select {
		case <-t.exited[i]:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-t.exited[i]
		}
	}
	os.RemoveAll(t.dir)
}

// procSample is a process's CPU time so far and resident memory.
type procSample struct {
	at    time.Time
	cpu   time.Duration // utime + stime
	rssKB int
	hwmKB int // peak resident memory
}

func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name, which is in parentheses and may contain spaces: state is field 3, utime 14,
	// stime 15.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return s, err
	}
	s.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			s.hwmKB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return s, nil
}

// usage is one process over an interval: CPU as a share of one core, resident memory at the end, and its peak
// resident memory since it started (VmHWM).
type usage struct {
	cpu          float64
	rssMB, maxMB float64
}

// measure samples every pid once a second for d and returns each one's usage over the interval.
func measure(ctx context.Context, pids []int, d time.Duration) ([]usage, error) {
	first := make([]procSample, len(pids))
	out := make([]usage, len(pids))
	for i, pid := range pids {
		s, err := sampleProc(pid)
		if err != nil {
			return nil, err
		}
		first[i] = s
	}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if !sleepCtx(ctx, min(time.Second, time.Until(end))) {
			return nil, ctx.Err()
		}
		for i, pid := range pids {
			s, err := sampleProc(pid)
			if err != nil {
				return nil, err
			}
			out[i].cpu = (s.cpu - first[i].cpu).Seconds() / s.at.Sub(first[i].at).Seconds()
			out[i].rssMB = float64(s.rssKB) / 1024
			out[i].maxMB = float64(s.hwmKB) / 1024
		}
	}
	return out, nil
}
