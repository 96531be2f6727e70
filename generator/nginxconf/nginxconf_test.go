package nginxconf

import (
	"fmt"
	"strings"
	"testing"
)

const fdid = "6e1a4c8f-2b7d-4f3a-8c5e-9d0b3a7f1e24"

// the chart's snippets, as rendered for staging.
const (
	chartHTTP = `map $http_x_azure_fdid $libertum_front_door {
  default 0;
  "` + fdid + `" 1;
}
`
	chartServer = `if ($libertum_front_door = 0) {
  return 403;
}
`
)

// snippetCase is one set of snippets and what nginx does with a request
// without the header, with another profile's ID and with this one's (0
// forwards); err says the reading must refuse to judge.
type snippetCase struct {
	name                       string
	http, server, location     string
	none, other, right         int
	err                        string
	requestsNeedNoExtraHeaders bool
}

var cases = []snippetCase{
	{name: "the chart's map and if", http: chartHTTP, server: chartServer, none: 403, other: 403, right: 0},
	{name: "no snippets", none: 0, other: 0, right: 0},
	{name: "return 403 removed", http: chartHTTP, server: "if ($libertum_front_door = 0) {\n  set $refused 1;\n}\n", none: 0, other: 0, right: 0},
	{name: "only a comment names the header and the ID", server: "# refuse unless $http_x_azure_fdid is " + fdid + ": return 403;\n", none: 0, other: 0, right: 0},
	{name: "another profile's ID in the map", http: strings.Replace(chartHTTP, fdid, "b3d9f1a7-4c2e-4e8b-9a6d-1f5c7e3b2a90", 1), server: chartServer, none: 403, other: 403, right: 403},
	{name: "direct comparison", server: `if ($http_x_azure_fdid != "` + fdid + `") { return 403; }`, none: 403, other: 403, right: 0},
	{name: "set, then compare", server: "set $ok 0;\nif ($http_x_azure_fdid = " + fdid + ") { set $ok 1; }\nif ($ok = 0) { return 403; }\n", none: 403, other: 403, right: 0},
	{name: "regular expression map", http: "map $http_x_azure_fdid $fd { default no; ~^6e1a4c8f-2b7d- yes; }\n", server: "if ($fd = no) { return 403; }\n", none: 403, other: 403, right: 0},
	{name: "case-insensitive regular expression in if", server: "if ($http_x_azure_fdid !~* ^6E1A4C8F-2B7D-4F3A-8C5E-9D0B3A7F1E24$) { return 421; }\n", none: 421, other: 421, right: 0},
	{name: "refusal in the location", http: chartHTTP, location: chartServer, none: 403, other: 403, right: 0},
	{name: "break before the refusal", http: chartHTTP, server: "break;\nif ($libertum_front_door = 0) { return 403; }\n", location: "", none: 0, other: 0, right: 0},
	{name: "deny all refuses everyone", server: "deny all;\n", none: 403, other: 403, right: 403},
	{name: "everyone redirected", server: "return https://example.com/;\n", none: 302, other: 302, right: 302},
	{name: "header shaping is harmless", http: chartHTTP, server: chartServer + "add_header X-Stamp weu-1;\n", location: "proxy_set_header X-A b;\n", none: 403, other: 403, right: 0},
	{name: "a header directive inside a server if", http: chartHTTP, server: "if ($libertum_front_door = 0) {\n  add_header X-Refused yes;\n}\n", err: "not allowed"},
	{name: "a directive it cannot read", server: "rewrite ^ /elsewhere last;\n", err: "rewrite"},
	{name: "a file test", server: "if (-f /maintenance) { return 503; }\n", err: "file test"},
	{name: "an unknown variable", server: "if ($remote_addr = 1.2.3.4) { return 403; }\n", err: "$remote_addr"},
	{name: "allow by address", server: "allow 147.243.0.0/16;\ndeny all;\n", err: "address"},
	{name: "unterminated block", server: "if ($a = 0) { return 403;\n", err: "not closed"},
	{name: "unterminated string", server: "if ($a = \"0) { return 403; }\n", err: "unterminated"},
	{name: "a stray brace", server: "}\n", err: "closes no block"},
	{name: "an if without a block", server: "if ($a = 0);\n", err: "want if (condition)"},
}

func requests() []Request {
	return []Request{
		{Headers: map[string]string{}},
		{Headers: map[string]string{"X-Azure-FDID": "00000000-0000-4000-8000-000000000000"}},
		{Headers: map[string]string{"x-azure-fdid": fdid}},
	}
}

func TestDo(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.http, tc.server, tc.location)
			var got []int
			if err == nil {
				for _, r := range requests() {
					res, derr := c.Do(r)
					if derr != nil {
						err = derr
						break
					}
					got = append(got, res.Status)
				}
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []int{tc.none, tc.other, tc.right}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("statuses (none, other, right) = %v, want %v", got, want)
			}
		})
	}
}

// TestErrorsNameTheLine: a reading error says which snippet and line.
func TestErrorsNameTheLine(t *testing.T) {
	_, err := Parse("", "add_header A b;\n\nif ($a = 0) { return 403; }\n}\n", "")
	if err == nil || !strings.Contains(err.Error(), "server-snippet:4") {
		t.Fatalf("err = %v, want server-snippet:4", err)
	}
	c, err := Parse("", "add_header A b;\nrewrite ^ / last;\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(requests()[0]); err == nil || !strings.Contains(err.Error(), "server-snippet:2") {
		t.Fatalf("err = %v, want server-snippet:2", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.http, tc.server, tc.location)
	}
	f.Fuzz(func(t *testing.T, h, s, l string) {
		c, err := Parse(h, s, l)
		if err != nil {
			return
		}
		for _, r := range requests() {
			res, err := c.Do(r)
			if err == nil && res.Status != 0 && (res.Status < 100 || res.Status > 999) {
				t.Fatalf("status %d", res.Status)
			}
		}
	})
}

// TestProbeExemption: the chart's snippets answer Front Door's health probe
// (no X-Azure-FDID) on the health host's probe path only; the same path on
// another host, or another path on the health host, is refused without the
// ID, and every request with it goes on.
func TestProbeExemption(t *testing.T) {
	http := `map $http_x_azure_fdid $libertum_fdid {
  default 0;
  "` + fdid + `" 1;
}
map "$libertum_fdid:$host$uri" $libertum_front_door {
  default 0;
  "~^1:" 1;
  "0:health.weu-1.example.io/health/stamp" 1;
}
`
	c, err := Parse(http, chartServer, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, path string
		headers    map[string]string
		want       int
	}{
		{"health.weu-1.example.io", "/health/stamp", nil, 0},
		{"Health.weu-1.example.io:443", "/health/stamp", nil, 0},
		{"health.weu-1.example.io", "/health/stamp/x", nil, 403},
		{"health.weu-1.example.io", "/", nil, 403},
		{"api.weu-1.example.io", "/health/stamp", nil, 403},
		{"api.weu-1.example.io", "/health/stamp", map[string]string{"X-Azure-FDID": "00000000-0000-4000-8000-000000000000"}, 403},
		{"api.weu-1.example.io", "/", map[string]string{"X-Azure-FDID": fdid}, 0},
	} {
		res, err := c.Do(Request{Host: tc.host, Path: tc.path, Headers: tc.headers})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tc.want {
			t.Errorf("%s%s %v: status %d, want %d", tc.host, tc.path, tc.headers, res.Status, tc.want)
		}
	}
}

// TestMapKeysFit: nginx's 64-byte default bucket holds a key of up to 46
// bytes; the probe exemption's key for a staging host needs 72, which 128
// holds.
func TestMapKeysFit(t *testing.T) {
	key := func(n int) string {
		return `map $uri $x { default 0; "` + strings.Repeat("k", n) + `" 1; }` + "\n"
	}
	for _, tc := range []struct {
		keyLen, bucket int
		fits           bool
	}{
		{46, 64, true}, {47, 64, false}, {48, 128, true}, {110, 128, true}, {111, 128, false},
	} {
		c, err := Parse(key(tc.keyLen), "", "")
		if err != nil {
			t.Fatal(err)
		}
		err = c.MapKeysFit(tc.bucket)
		if (err == nil) != tc.fits {
			t.Errorf("key of %d bytes, bucket %d: err = %v, want fits %v", tc.keyLen, tc.bucket, err, tc.fits)
		}
	}
}
