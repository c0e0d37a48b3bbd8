package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The WAN testbed's network: one namespace per node, joined by veth pairs to a bridge that lives in a namespace of
// its own, so that nothing is added to the root namespace or to the host's firewall. Every name starts with the
// run's prefix; addresses repeat between runs, which never share a namespace.
//
//	node i ns (<prefix>-n<i>)         bridge ns (<prefix>-br)          router ns (<prefix>-r<k>)   NATed node k ns
//	eth0 10.77.0.<10+i> ──veth── n<i> ─┐
//	                                   br0
//	                       u<k> ───────┘── veth ── wan0 10.77.1.<10+k>, lan 192.168.100.1 ── veth ── eth0 192.168.100.2
//
// Shaping, per node link and each direction: tbf caps the bandwidth (node's eth0 egress and the bridge or router
// side's egress towards the node). With netem in the kernel, netem on eth0 adds the one-way latency, jitter and
// loss per packet. Without it, nftables drops packets at random on eth0 egress, and a toxiproxy TCP proxy in each
// node's namespace delays both directions of every connection the node accepts: nftables redirects inbound port
// 4001 to the proxy (:14001), which dials the node at 127.0.0.1:4001 (translated to the node's address), so every
// connection between two nodes crosses exactly one proxy whatever address was dialled, and the node sees its peers
// on loopback, which libp2p's per-IP connection limits leave alone.

const (
	p2pPort   = 4001
	proxyPort = 14001
	apiAddr   = "127.0.0.1:8080" // every node's HTTP API, inside its own namespace
	natLAN    = "192.168.100"    // the LAN behind each NAT router (.1 router, .2 node)
)

// linkSpec shapes every node's link, each direction.
type linkSpec struct {
	latency, jitter time.Duration // one way
	lossBP          int           // packets lost in 10,000
	rateMbit        int
}

func (l linkSpec) String() string {
	return fmt.Sprintf("%s ± %s one way, %.2g %% loss, %d Mbit/s", l.latency, l.jitter, float64(l.lossBP)/100, l.rateMbit)
}

// topology is the namespaces, links and rules of one testbed run.
type topology struct {
	prefix string
	nodes  int
	nat    int // the last nat nodes sit behind a masquerading NAT router each
	netem  bool
	link   linkSpec
}

func (t *topology) bridgeNS() string        { return t.prefix + "-br" }
func (t *topology) nodeNS(i int) string     { return fmt.Sprintf("%s-n%d", t.prefix, i+1) }
func (t *topology) routerNS(i int) string   { return fmt.Sprintf("%s-r%d", t.prefix, i+1) }
func (t *topology) natted(i int) bool       { return i >= t.nodes-t.nat }
func (t *topology) nodeAddr(i int) string   { return fmt.Sprintf("10.77.0.%d", 10+i) }
func (t *topology) routerAddr(i int) string { return fmt.Sprintf("10.77.1.%d", 10+i) }

// listenAddr is the address node i listens on inside its namespace.
func (t *topology) listenAddr(i int) string {
	if t.natted(i) {
		return natLAN + ".2"
	}
	return t.nodeAddr(i)
}

// seenAs is the source address of node i's packets on the bridge (its router's, behind a NAT).
func (t *topology) seenAs(i int) string {
	if t.natted(i) {
		return t.routerAddr(i)
	}
	return t.nodeAddr(i)
}

// sh runs a command and returns its error with its output.
func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// nsRun runs a command inside namespace ns.
func nsRun(ns string, args ...string) error {
	return sh(append([]string{"ip", "netns", "exec", ns}, args...)...)
}

// nft loads an nftables ruleset into namespace ns.
func nft(ns, ruleset string) error {
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hasNetem reports whether the kernel has the netem qdisc, tried once in a scratch namespace.
func hasNetem(prefix string) bool {
	ns := prefix + "-probe"
	if sh("ip", "netns", "add", ns) != nil {
		return false
	}
	defer sh("ip", "netns", "del", ns)
	return sh("ip", "-n", ns, "link", "set", "lo", "up") == nil &&
		sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms") == nil
}

// removeLeftovers kills the processes of every namespace named with prefix, deletes the namespaces and the
// temporary directories of runs with that prefix.
func removeLeftovers(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-wan-*"))
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], prefix+"-") {
			continue
		}
		killNS(f[0])
		if err := sh("ip", "netns", "del", f[0]); err != nil {
			log.Printf("wan: %v", err)
		}
	}
}

// killNS sends SIGKILL to every process in namespace ns.
func killNS(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// up creates every namespace, link, address, queue and rule. On error, teardown removes what was made.
func (t *topology) up() error {
	br := t.bridgeNS()
	steps := [][]string{
		{"ip", "netns", "add", br},
		{"ip", "-n", br, "link", "set", "lo", "up"},
		{"ip", "-n", br, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", br, "link", "set", "br0", "up"},
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return err
		}
	}
	for i := range t.nodes {
		if err := t.nodeUp(i); err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
	}
	return nil
}

// nodeUp makes node i's namespace, its link (through a NAT router if it is NATed), its queues and its rules.
func (t *topology) nodeUp(i int) error {
	ns, br := t.nodeNS(i), t.bridgeNS()
	if err := sh("ip", "netns", "add", ns); err != nil {
		return err
	}
	side, sideNS := fmt.Sprintf("n%d", i+1), br // the far end of the node's eth0
	var cmds [][]string
	if t.natted(i) {
		side, sideNS = "lan", t.routerNS(i)
		cmds = t.routerCmds(i)
	} else {
		cmds = [][]string{
			{"ip", "-n", br, "link", "add", side, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"ip", "-n", br, "link", "set", side, "master", "br0", "up"},
			{"ip", "-n", ns, "addr", "add", t.nodeAddr(i) + "/16", "dev", "eth0"},
		}
	}
	cmds = append(cmds, []string{"ip", "-n", ns, "link", "set", "lo", "up"}, []string{"ip", "-n", ns, "link", "set", "eth0", "up"})
	if t.natted(i) {
		cmds = append(cmds, []string{"ip", "-n", ns, "route", "add", "default", "via", natLAN + ".1"})
	}
	cmds = append(cmds, t.qdisc(ns, "eth0", true), t.qdisc(sideNS, side, false))
	for _, c := range cmds {
		if err := sh(c...); err != nil {
			return err
		}
	}
	if t.natted(i) {
		if err := nft(t.routerNS(i), routerRules); err != nil {
			return err
		}
	}
	return nft(ns, t.nodeRules(i))
}

// routerCmds make NATed node i's router: a namespace with an uplink to the bridge and a LAN link to the node,
// forwarding, and a masquerade that lets the node's connections out and nothing unsolicited in.
func (t *topology) routerCmds(i int) [][]string {
	r, br, ns := t.routerNS(i), t.bridgeNS(), t.nodeNS(i)
	up := fmt.Sprintf("u%d", i+1)
	return [][]string{
		{"ip", "netns", "add", r},
		{"ip", "-n", r, "link", "set", "lo", "up"},
		{"ip", "-n", br, "link", "add", up, "type", "veth", "peer", "name", "wan0", "netns", r},
		{"ip", "-n", br, "link", "set", up, "master", "br0", "up"},
		{"ip", "-n", r, "addr", "add", t.routerAddr(i) + "/16", "dev", "wan0"},
		{"ip", "-n", r, "link", "set", "wan0", "up"},
		{"ip", "-n", r, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "-n", r, "addr", "add", natLAN + ".1/24", "dev", "lan"},
		{"ip", "-n", r, "link", "set", "lan", "up"},
		{"ip", "-n", ns, "addr", "add", natLAN + ".2/24", "dev", "eth0"},
		{"ip", "netns", "exec", r, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
	}
}

// routerRules masquerade what the NATed node sends out and forward nothing unsolicited in.
const routerRules = `table ip nat {
	chain post { type nat hook postrouting priority 100; oifname "wan0" masquerade; }
}
table ip filter {
	chain guard { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "lan" accept; }
}
`

// qdisc is the queue on dev's egress: netem with the link's delay, jitter, loss and rate on a node's own eth0 when
// the kernel has it, else (and always towards the node) a token bucket at the link's rate.
func (t *topology) qdisc(ns, dev string, own bool) []string {
	base := []string{"ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root"}
	rate := fmt.Sprintf("%dmbit", t.link.rateMbit)
	if own && t.netem {
		return append(base, "netem", "delay", msStr(t.link.latency), msStr(t.link.jitter), "distribution", "normal",
			"loss", fmt.Sprintf("%.2f%%", float64(t.link.lossBP)/100), "rate", rate, "limit", "10000")
	}
	return append(base, "tbf", "rate", rate, "burst", "32kb", "latency", "100ms")
}

func msStr(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// nodeRules is node i's nftables ruleset: the partition set (addresses this node cannot reach while cut), random
// loss on eth0 egress without netem, and without netem on a reachable node the redirection through its proxy.
func (t *topology) nodeRules(i int) string {
	var b strings.Builder
	b.WriteString("table inet wan {\n\tset cut { type ipv4_addr; }\n")
	b.WriteString("\tchain input { type filter hook input priority 0; ip saddr @cut drop; }\n")
	b.WriteString("\tchain output { type filter hook output priority 0; ip daddr @cut drop;")
	if !t.netem && t.link.lossBP > 0 {
		fmt.Fprintf(&b, " oifname \"eth0\" numgen random mod 10000 < %d drop;", t.link.lossBP)
	}
	b.WriteString(" }\n}\n")
	if !t.netem && !t.natted(i) {
		fmt.Fprintf(&b, "table ip wannat {\n\tchain pre { type nat hook prerouting priority -100; iifname \"eth0\" tcp dport %d redirect to :%d; }\n", p2pPort, proxyPort)
		fmt.Fprintf(&b, "\tchain out { type nat hook output priority -100; ip daddr 127.0.0.1 tcp dport %d dnat to %s:%d; }\n}\n", p2pPort, t.nodeAddr(i), p2pPort)
	}
	return b.String()
}

// cut makes the nodes of side and the rest unreachable to each other: each node drops packets from and to the
// other side's addresses (as seen on the bridge).
func (t *topology) cut(side map[int]bool) error {
	for i := range t.nodes {
		var other []string
		for j := range t.nodes {
			if side[i] != side[j] {
				other = append(other, t.seenAs(j))
			}
		}
		if err := nsRun(t.nodeNS(i), "nft", "add element inet wan cut { "+strings.Join(other, ", ")+" }"); err != nil {
			return err
		}
	}
	return nil
}

// heal empties every node's partition set.
func (t *topology) heal() error {
	for i := range t.nodes {
		if err := nsRun(t.nodeNS(i), "nft", "flush set inet wan cut"); err != nil {
			return err
		}
	}
	return nil
}

// down kills what runs in the namespaces and deletes them (the veth pairs go with them). The testnet's
// directory is removed by its owner.
func (t *topology) down() { removeLeftovers(t.prefix) }
