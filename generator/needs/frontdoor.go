package needs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/libertum/platform-gitops/generator/manifest"
	"github.com/libertum/platform-gitops/generator/nginxconf"
	"github.com/libertum/platform-gitops/generator/policy"
	"github.com/libertum/platform-gitops/generator/programs"
	"github.com/libertum/platform-gitops/generator/spec"
)

// FrontDoorHeader carries the Front Door profile's ID on every request it
// forwards.
const FrontDoorHeader = "X-Azure-FDID"

// frontDoorSource is where the header and its use come from.
const frontDoorSource = "https://learn.microsoft.com/en-us/azure/frontdoor/origin-security#front-door-identifier (X-Azure-FDID: refuse requests whose value is not your profile's ID)"

// healthProbeSource is what Front Door's health probes carry.
const healthProbeSource = "https://learn.microsoft.com/azure/frontdoor/health-probes (probes are sent with the User-Agent \"Edge Health Probe\"; HEAD by default; 200 is healthy, anything else a failure) and https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol (Front Door certifies no header that page does not document)"

// ProbeUserAgent is the User-Agent of Front Door's health probes.
const ProbeUserAgent = "Edge Health Probe"

// FrontDoorRequest is one request the ingress controller is asked about,
// to Host at Path, and whether it must be refused.
type FrontDoorRequest struct {
	Name       string
	Host, Path string
	Headers    map[string]string
	Refused    bool
	// Probe marks Front Door's health probe.
	Probe bool
}

// StampRequests are the requests that prove a stamp's ingress controller
// admits only the profile's: to one public host, none without
// X-Azure-FDID or with another profile's ID, the profile's own; and Front
// Door's health probe — no X-Azure-FDID, which no documentation says probes
// carry — to the stamp's health host at the probe path, which must go
// through, while the same request to the other host must not (the
// exemption is the probe's only). Nil without a Front Door.
func StampRequests(e *spec.Environment, st spec.Stamp) []FrontDoorRequest {
	fd := e.Spec.FrontDoor
	if fd == nil {
		return nil
	}
	var host string
	for _, name := range e.ComponentNames() {
		if in := e.Spec.Components[name].Ingress; in != nil && name != fd.Health {
			host = in.StampHost(st)
			break
		}
	}
	other := "00000000-0000-4000-8000-000000000000"
	if strings.EqualFold(other, fd.ID) {
		other = "00000000-0000-4000-8000-000000000001"
	}
	out := []FrontDoorRequest{
		{Name: "a request without " + FrontDoorHeader + " to " + host, Host: host, Path: "/", Headers: map[string]string{}, Refused: true},
		{Name: "a request with another profile's " + FrontDoorHeader + " to " + host, Host: host, Path: "/", Headers: map[string]string{FrontDoorHeader: other}, Refused: true},
		{Name: "a request with this profile's " + FrontDoorHeader + " to " + host, Host: host, Path: "/", Headers: map[string]string{FrontDoorHeader: fd.ID}},
	}
	probeHost := e.ProbeHost(st)
	if probeHost == "" {
		return out
	}
	ua := map[string]string{"User-Agent": ProbeUserAgent}
	out = append(out, FrontDoorRequest{Name: "Front Door's health probe (no " + FrontDoorHeader + ") to " + probeHost + fd.ProbePath, Host: probeHost, Path: fd.ProbePath, Headers: ua, Probe: true})
	if host != "" {
		out = append(out, FrontDoorRequest{Name: "a request without " + FrontDoorHeader + " to " + host + fd.ProbePath, Host: host, Path: fd.ProbePath, Headers: ua, Refused: true})
	}
	return out
}

// frontDoor holds an ingress-nginx controller behind Front Door to what
// its ConfigMap's snippets make nginx do: refuse every request that does
// not carry the profile's ID, and forward the profile's.
func (s *stamp) frontDoor(p *pod, objs []*manifest.Object) ([]policy.Finding, error) {
	fd := s.env.Spec.FrontDoor
	if fd == nil {
		return nil, nil
	}
	st, _ := s.env.StampNamed(s.name)
	reqs := StampRequests(s.env, st)
	var out []policy.Finding
	for i := range p.tpl.Spec.Containers {
		c := programs.Container{Component: p.in.Component, Workload: manifest.IDOf(p.in.Object), Object: p.in.Object, Pod: p.tpl, Spec: &p.tpl.Spec.Containers[i], Objects: objs}
		ref, ok := programs.ConfigMapOf(c)
		if !ok {
			continue
		}
		ns, name, _ := strings.Cut(ref, "/")
		var cm *manifest.Object
		for _, in := range s.inputs {
			if in.Object.GetKind() == "ConfigMap" && in.Object.GetNamespace() == ns && manifest.Name(in.Object) == name {
				cm = in.Object
			}
		}
		data := map[string]string{}
		if cm != nil {
			if d, ok := cm.Object["data"].(map[string]any); ok {
				for k, v := range d {
					if s, ok := v.(string); ok {
						data[k] = s
					}
				}
			}
		}
		fix := "refuse the request in the controller's server-snippet unless X-Azure-FDID is the profile's ID (the generator's ingress-nginx chart maps $http_x_azure_fdid and returns 403; values.frontDoor)"
		conf, err := nginxconf.Parse(data["http-snippet"], data["server-snippet"], data["location-snippet"])
		if err != nil {
			out = append(out, p.finding(RuleFrontDoor, policy.Deny,
				fmt.Sprintf("cannot tell whether ingress controller %q refuses requests without this environment's Front Door ID: ConfigMap %s: %v [%s]", c.Spec.Name, ref, err, frontDoorSource), fix))
			continue
		}
		bucket := nginxconf.DefaultMapHashBucketSize
		if v, err := strconv.Atoi(data["map-hash-bucket-size"]); err == nil && v > 0 {
			bucket = v
		}
		if err := conf.MapKeysFit(bucket); err != nil {
			out = append(out, p.finding(RuleFrontDoor, policy.Deny,
				fmt.Sprintf("ingress controller %q cannot start: ConfigMap %s: %v", c.Spec.Name, ref, err),
				"set the ConfigMap's map-hash-bucket-size (ingress-nginx writes it as map_hash_bucket_size) to hold the longest map key"))
			continue
		}
		for _, r := range reqs {
			res, err := conf.Do(nginxconf.Request{Host: r.Host, Path: r.Path, Headers: r.Headers})
			var problem string
			switch {
			case err != nil:
				problem = fmt.Sprintf("cannot tell what nginx does with %s: ConfigMap %s: %v", r.Name, ref, err)
			case r.Refused && (res.Status < 400 || res.Status > 499):
				problem = fmt.Sprintf("nginx forwards %s: ConfigMap %s's snippets refuse nothing without the ID %s", r.Name, ref, fd.ID)
				if res.Status != 0 {
					problem = fmt.Sprintf("nginx answers %s with %d (%s), not a refusal", r.Name, res.Status, res.By)
				}
			case r.Probe && res.Status != 0:
				problem = fmt.Sprintf("nginx ends %s with %d (%s): every probe fails and Front Door takes the stamp out of rotation [%s]", r.Name, res.Status, res.By, healthProbeSource)
			case !r.Refused && res.Status != 0:
				problem = fmt.Sprintf("nginx ends %s with %d (%s): Front Door's own requests would not reach the services", r.Name, res.Status, res.By)
			}
			if problem != "" {
				out = append(out, p.finding(RuleFrontDoor, policy.Deny,
					fmt.Sprintf("ingress controller %q behind Front Door: %s [%s]", c.Spec.Name, problem, frontDoorSource), fix))
			}
		}
	}
	return out, nil
}
