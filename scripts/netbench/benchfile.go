package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// benchResult is the median of every metric of one benchmark over its -count runs.
type benchResult struct {
	runs    int
	medians map[string]float64 // unit → median
}

// procSuffix is the -GOMAXPROCS suffix go test appends to benchmark names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// readBench parses `go test -bench` output: each result line is a name, an iteration count, then value–unit pairs.
// It returns the median of every unit per benchmark, and the names in first-seen order.
func readBench(path string) (map[string]benchResult, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	samples := map[string]map[string][]float64{}
	runs := map[string]int{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(fields[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(fields[0], "")
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
			order = append(order, name)
		}
		runs[name]++
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				samples[name][fields[i+1]] = append(samples[name][fields[i+1]], v)
			}
		}
	}
	out := map[string]benchResult{}
	for name, units := range samples {
		r := benchResult{runs: runs[name], medians: map[string]float64{}}
		for u, vs := range units {
			r.medians[u] = median(vs)
		}
		out[name] = r
	}
	return out, order, sc.Err()
}

// lotteryFigure is figure 1: Table.Pick against the reference pool lottery.
func lotteryFigure(w io.Writer, path string) error {
	res, _, err := readBench(path)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "| lottery | validators | tokens staked | ns / pick | B / pick | allocs / pick | memory held | runs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range []string{"10", "1000", "100000"} {
		r, ok := res["BenchmarkPick/validators="+n]
		if !ok {
			return fmt.Errorf("no BenchmarkPick/validators=%s in %s", n, path)
		}
		fmt.Fprintf(w, "| Table (cumulative sums) | %s | up to %s × 10⁶ | %.1f | %.0f | %.0f | %s | %d |\n", n, n,
			r.medians["ns/op"], r.medians["B/op"], r.medians["allocs/op"], bytesStr(r.medians["bytes-held"]), r.runs)
	}
	table10 := res["BenchmarkPick/validators=10"].medians
	pretty := map[string]string{"1e3": "10³", "1e6": "10⁶", "1e8": "10⁸"}
	for _, t := range []string{"1e3", "1e6", "1e8"} {
		r, ok := res["BenchmarkPoolPick/tokens="+t]
		if !ok {
			return fmt.Errorf("no BenchmarkPoolPick/tokens=%s in %s", t, path)
		}
		fmt.Fprintf(w, "| pool (one entry per token) | 10 | %s | %.1f (×%.1f) | %.0f | %.0f | %s (×%.0f) | %d |\n", pretty[t],
			r.medians["ns/op"], r.medians["ns/op"]/table10["ns/op"], r.medians["B/op"], r.medians["allocs/op"],
			bytesStr(r.medians["bytes-held"]), r.medians["bytes-held"]/table10["bytes-held"], r.runs)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratios in brackets are against Table at 10 validators, whose cost does not depend on the tokens staked.")
	fmt.Fprintln(w)
	small, big := table10["ns/op"], res["BenchmarkPick/validators=100000"].medians["ns/op"]
	growth, logGrowth := big/small, math.Log2(100000)/math.Log2(10)
	fmt.Fprintf(w, "Goal: O(log n), under 2 µs at 100,000 validators — %s: %.0f ns at 100,000; ×%.1f from 10 to 100,000 validators, where log₂ n grows ×%.1f (taken as O(log n) when the growth is at most twice that) %s.\n",
		verdict(big < 2000 && growth <= 2*logGrowth), big, growth, logGrowth, verdictWord(growth <= 2*logGrowth))
	return nil
}

func verdictWord(ok bool) string {
	if ok {
		return "(holds)"
	}
	return "(does not hold)"
}

// insertFigure prints every benchmark of the input with the medians of its metrics.
func insertFigure(w io.Writer, path string) error {
	res, order, err := readBench(path)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "| benchmark | ns / op | other metrics (medians) | runs |")
	fmt.Fprintln(w, "|---|---:|---|---:|")
	for _, name := range order {
		r := res[name]
		var other []string
		for _, u := range []string{"blocks/s", "tx/s", "B/op", "allocs/op"} {
			if v, ok := r.medians[u]; ok {
				other = append(other, fmt.Sprintf("%.0f %s", v, u))
			}
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %d |\n", strings.TrimPrefix(name, "Benchmark"), r.medians["ns/op"], strings.Join(other, ", "), r.runs)
	}
	return nil
}

func bytesStr(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	}
	return fmt.Sprintf("%.0f B", b)
}

// vrfFigure prints the VRF benchmarks and the share of a block's validation that the VRF check takes, for each
// block size of BenchmarkValidateBlock.
func vrfFigure(w io.Writer, path string) error {
	res, order, err := readBench(path)
	if err != nil {
		return err
	}
	verify, ok := res["BenchmarkVRFVerify"]
	if !ok {
		return fmt.Errorf("%s: no BenchmarkVRFVerify", path)
	}
	fmt.Fprintln(w, "| benchmark | µs / op | VRF verification's share | runs |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, name := range order {
		r := res[name]
		share := ""
		if strings.HasPrefix(name, "BenchmarkValidateBlock") && r.medians["ns/op"] > 0 {
			share = fmt.Sprintf("%.1f %%", 100*verify.medians["ns/op"]/r.medians["ns/op"])
		}
		fmt.Fprintf(w, "| %s | %.1f | %s | %d |\n", strings.TrimPrefix(name, "Benchmark"), r.medians["ns/op"]/1000, share, r.runs)
	}
	return nil
}
