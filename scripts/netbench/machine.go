package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// machineFigure describes the machine the figures come from.
func machineFigure(w io.Writer) {
	fmt.Fprintln(w, "| | |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| CPU | %s |\n", cpuModel())
	fmt.Fprintf(w, "| cores (nproc) | %d |\n", runtime.NumCPU())
	fmt.Fprintf(w, "| memory | %s |\n", memTotal())
	fmt.Fprintf(w, "| kernel | %s |\n", readTrim("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(w, "| Go | %s %s/%s |\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "| file system of the temp directory | %s |\n", tempFS())
	fmt.Fprintf(w, "| load average (1, 5, 15 min) at the start | %s |\n", loadAvg())
	fmt.Fprintf(w, "| date | %s |\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

func cpuModel() string {
	v := firstField("/proc/cpuinfo", "model name")
	return strings.TrimSpace(strings.TrimPrefix(v, ":"))
}

// firstField returns the rest of the first line of path that starts with prefix.
func firstField(path, prefix string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// loadAvg returns the three load averages.
func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// tempFS returns the type of the file system that holds the temp directory (where the benchmark nodes keep their
// databases): the longest mount point that is a prefix of it.
func tempFS() string {
	dir := os.TempDir()
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	best, typ := "", "unknown"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			continue
		}
		mp := fs[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, typ = mp, fs[2]
		}
	}
	return typ
}

// memTotal returns the machine's memory in GiB.
func memTotal() string {
	var kb int
	if _, err := fmt.Sscanf(firstField("/proc/meminfo", "MemTotal:"), "%d kB", &kb); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}
