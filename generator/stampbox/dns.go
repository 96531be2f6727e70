package stampbox

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Question is one name a pod asked cluster DNS for.
type Question struct {
	From     netip.Addr
	Name     string
	Answered bool
	Addrs    []netip.Addr
}

// DNS is the box's cluster DNS: it answers the rendered Services (headless
// ones by pod), the StatefulSets' pods, the API server and the outside
// names the programs call, from the plan, and remembers every question.
type DNS struct {
	plan *Plan
	udp  net.PacketConn
	tcp  net.Listener

	mu        sync.Mutex
	questions []Question
}

// ClusterDNS is where pods ask: cluster DNS's service address, port 53.
var ClusterDNS = net.JoinHostPort(clusterDNSIP.String(), "53")

// StartDNS serves cluster DNS on an address (ClusterDNS in the box), UDP
// and TCP on the same port.
func StartDNS(p *Plan, addr string) (*DNS, error) {
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	tcp, err := net.Listen("tcp", udp.LocalAddr().String())
	if err != nil {
		udp.Close()
		return nil, err
	}
	d := &DNS{plan: p, udp: udp, tcp: tcp}
	go d.serveUDP()
	go d.serveTCP()
	return d, nil
}

// Close stops serving.
func (d *DNS) Close() {
	d.udp.Close()
	d.tcp.Close()
}

// Questions returns what was asked so far.
func (d *DNS) Questions() []Question {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Question(nil), d.questions...)
}

func (d *DNS) serveUDP() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := d.answer(buf[:n], from); ok {
			_, _ = d.udp.WriteTo(out, from)
		}
	}
}

func (d *DNS) serveTCP() {
	for {
		c, err := d.tcp.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			var size [2]byte
			for {
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				msg := make([]byte, binary.BigEndian.Uint16(size[:]))
				if _, err := io.ReadFull(c, msg); err != nil {
					return
				}
				out, ok := d.answer(msg, c.RemoteAddr())
				if !ok {
					return
				}
				binary.BigEndian.PutUint16(size[:], uint16(len(out)))
				if _, err := c.Write(append(size[:], out...)); err != nil {
					return
				}
			}
		}()
	}
}

// answer builds the reply to one query.
func (d *DNS) answer(query []byte, from net.Addr) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if errors.Is(err, dnsmessage.ErrSectionDone) || err != nil {
		return nil, false
	}
	name := strings.TrimSuffix(q.Name.String(), ".")
	addrs, known := d.plan.Names(name)
	src := netip.Addr{}
	if a, err := netip.ParseAddrPort(from.String()); err == nil {
		src = a.Addr().Unmap()
	}
	d.mu.Lock()
	d.questions = append(d.questions, Question{From: src, Name: strings.ToLower(name), Answered: known, Addrs: addrs})
	d.mu.Unlock()
	rcode := dnsmessage.RCodeSuccess
	if !known {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, false
	}
	if err := b.Question(q); err != nil {
		return nil, false
	}
	if err := b.StartAnswers(); err != nil {
		return nil, false
	}
	if q.Type == dnsmessage.TypeA {
		for _, a := range addrs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5}
			if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
				return nil, false
			}
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
