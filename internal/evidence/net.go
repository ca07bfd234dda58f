package evidence

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// netFiles are the init's /proc/PID/net files copied: they show its
// network namespace (sockets, routes, interfaces, counters).
var netFiles = []string{"tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6", "unix", "packet", "netlink",
	"route", "ipv6_route", "dev", "if_inet6", "arp", "igmp", "igmp6", "snmp", "snmp6", "netstat", "sockstat", "sockstat6"}

// Socket is an inet socket of the container's network namespace, as
// network/sockets.json has it.
type Socket struct {
	Proto       string `json:"proto"` // tcp, tcp6, udp, udp6
	Local       string `json:"local"` // address:port ([address]:port for IPv6)
	Remote      string `json:"remote"`
	State       string `json:"state"` // TCP's state name; for UDP, ESTABLISHED (connected) or CLOSE
	UID         int    `json:"uid"`
	Inode       uint64 `json:"inode"`
	PIDs        []int  `json:"pids"`                  // the container's processes holding it (host PIDs)
	Description string `json:"description,omitempty"` // what was not understood
}

var tcpStates = map[string]string{"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING", "0C": "NEW_SYN_RECV"}

// network copies the init's network files and lists its inet sockets with
// the processes that hold them.
func (c *capture) network() error {
	dir := c.o.Process.Dir()
	for _, name := range netFiles {
		c.copyProc(dir, "net/"+name, "network/"+name, maxProcFile)
	}
	holders := map[uint64][]int{}
	for _, p := range c.procs {
		for _, fd := range p.FDs {
			var ino uint64
			if _, err := fmt.Sscanf(fd.Target, "socket:[%d]", &ino); err == nil {
				holders[ino] = appendOnce(holders[ino], p.PID)
			}
		}
	}
	sockets := []Socket{}
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		data, _, err := readProc(dir, "net/"+proto, maxProcFile)
		if err != nil {
			continue
		}
		sockets = append(sockets, parseSockets(proto, string(data), holders)...)
	}
	return c.b.writeJSON("network/sockets.json", sockets)
}

func appendOnce(list []int, n int) []int {
	for _, x := range list {
		if x == n {
			return list
		}
	}
	return append(list, n)
}

// parseSockets reads /proc/net/{tcp,tcp6,udp,udp6}: "sl local rem st
// tx:rx tr:when retrnsmt uid timeout inode ...", addresses in hex, each
// 32-bit word in the host's byte order.
func parseSockets(proto, table string, holders map[uint64][]int) []Socket {
	var list []Socket
	for i, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 10 {
			continue
		}
		s := Socket{Proto: proto, State: tcpStates[f[3]], PIDs: []int{}}
		if strings.HasPrefix(proto, "udp") {
			s.State = map[string]string{"01": "ESTABLISHED", "07": "CLOSE"}[f[3]]
		}
		if s.State == "" {
			s.State = f[3]
		}
		var err1, err2 error
		s.Local, err1 = hexEndpoint(f[1])
		s.Remote, err2 = hexEndpoint(f[2])
		if err1 != nil || err2 != nil {
			s.Description = "unreadable line: " + line
		}
		s.UID, _ = strconv.Atoi(f[7])
		s.Inode, _ = strconv.ParseUint(f[9], 10, 64)
		if h := holders[s.Inode]; h != nil && s.Inode != 0 {
			s.PIDs = h
		}
		list = append(list, s)
	}
	return list
}

// hexEndpoint turns "0100007F:1F90" into 127.0.0.1:8080.
func hexEndpoint(s string) (string, error) {
	addr, port, ok := strings.Cut(s, ":")
	if !ok {
		return "", fmt.Errorf("no port")
	}
	raw, err := hex.DecodeString(addr)
	if err != nil || len(raw) != 4 && len(raw) != 16 {
		return "", fmt.Errorf("bad address")
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return "", err
	}
	// Each 32-bit word is in the kernel's (little-endian here) order.
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	ip, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(ip, uint16(p)).String(), nil
}
