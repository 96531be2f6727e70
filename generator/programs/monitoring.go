package programs

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Sources the monitoring entries cite.
const (
	lokiConfigDoc         = "https://grafana.com/docs/loki/v3.4.x/configure/"
	lokiPortsDoc          = "https://grafana.com/docs/loki/latest/reference/network-ports/"
	dskitServer           = "https://github.com/grafana/dskit/blob/53283a0f6b41/server/server.go (server.grpc-listen-port 9095; the dskit version Loki 3.4.2 builds with)"
	dskitMemberlist       = "https://github.com/grafana/dskit/blob/53283a0f6b41/kv/memberlist/tcp_transport.go (TCPTransport: TCP for packets and streams; memberlist.bind-port 7946)"
	lokiRingDoc           = "https://grafana.com/docs/loki/v3.4.x/get-started/hash-rings/"
	promtailDoc           = "https://grafana.com/docs/loki/v3.4.x/send-data/promtail/configuration/"
	grafanaConfigDoc      = "https://grafana.com/docs/grafana/v11.5/setup-grafana/configure-grafana/"
	grafanaProvDoc        = "https://grafana.com/docs/grafana/v11.5/administration/provisioning/#data-sources"
	grafanaHADoc          = "https://grafana.com/docs/grafana/v11.5/setup-grafana/set-up-for-high-availability/ (the embedded sqlite3 database holds users, dashboards and sessions; for more than one server, a shared MySQL or Postgres database)"
	grafanaAzureADDoc     = "https://grafana.com/docs/grafana/v11.5/setup-grafana/configure-security/configure-authentication/azuread/ (redirect URL https://<grafana domain>/login/azuread; token_url on login.microsoftonline.com)"
	prometheusFlags       = "https://github.com/prometheus/prometheus/blob/v3.2.1/cmd/prometheus/main.go"
	prometheusConfDoc     = "https://prometheus.io/docs/prometheus/3.2/configuration/configuration/"
	prometheusK8sSD       = "https://github.com/prometheus/prometheus/blob/v3.2.1/discovery/kubernetes/kubernetes.go (no api_server: rest.InClusterConfig, the pod's service account token)"
	prometheusNodeRole    = "https://github.com/prometheus/prometheus/blob/v3.2.1/discovery/kubernetes/node.go (__address__ is the node's InternalIP and kubelet port)"
	alertmanagerFlags     = "https://github.com/prometheus/alertmanager/blob/v0.28.1/cmd/alertmanager/main.go"
	alertmanagerHA        = "https://github.com/prometheus/alertmanager/blob/v0.28.1/README.md#high-availability (\"Both UDP and TCP are needed in alertmanager 0.15 and higher for the cluster to work\")"
	alertmanagerConfigDoc = "https://prometheus.io/docs/alerting/0.28/configuration/#webhook_config"
	ksmFlags              = "https://github.com/kubernetes/kube-state-metrics/blob/v2.15.0/pkg/options/options.go (--port 8080, --telemetry-port 8081; no --kubeconfig: in-cluster)"
	inClusterConfig       = "https://github.com/kubernetes/client-go/blob/v0.32.0/rest/config.go (InClusterConfig: KUBERNETES_SERVICE_HOST and /var/run/secrets/kubernetes.io/serviceaccount/token)"
)

// metricsIngestSuffix ends an Azure Monitor workspace's metrics
// ingestion host (spec.MetricsIngestSuffix).
const metricsIngestSuffix = ".metrics.ingest.monitor.azure.com"

// KubeletPort is the port a node's kubelet serves metrics on, which
// Prometheus' node role makes the target's port.
const KubeletPort = 10250

// Call services the catalog uses besides spec.regions.<region>.azureEndpoints'.
const (
	// ServiceInternet is the internet, through the NAT gateway.
	ServiceInternet = "internet"
	// ServiceNodes are the stamp's nodes (their kubelets).
	ServiceNodes = "nodes"
	// ServiceAnnotatedPods are the pods that ask to be scraped
	// (prometheus.io/scrape), each on its prometheus.io/port.
	ServiceAnnotatedPods = "annotated-pods"
	// ServiceAPIServer is the Kubernetes API server.
	ServiceAPIServer = "kube-apiserver"
	// ServiceEntraID is Microsoft Entra ID, where workload identity
	// exchanges the pod's token.
	ServiceEntraID = "entra-id"
	// ServiceBlob is Azure Blob Storage.
	ServiceBlob = "blob"
	// ServiceMonitor is Azure Monitor's metrics ingestion (a workspace's
	// data collection endpoint), where Prometheus remote-writes.
	ServiceMonitor = "monitor"
	// ServicePostgres is Azure Database for PostgreSQL.
	ServicePostgres = "postgres"
)

// ServiceAccountTokenPath is where a pod's service account token is mounted.
const ServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

var apiServerCall = Call{Service: ServiceAPIServer, Host: "kubernetes.default.svc", Port: tcp("https", 443),
	Why: "in-cluster configuration: the API server behind KUBERNETES_SERVICE_HOST", Source: inClusterConfig}

// configFile reads the file a flag names from the container's ConfigMap
// volumes. A file no ConfigMap volume holds is a problem of n (the
// program cannot start), and empty: the program's defaults apply to what
// is derived from it.
func configFile(c Container, n *Needs, flag, def, source string) (data, from, file string) {
	file, ok := c.Flag(flag)
	if !ok {
		file = def
	}
	n.Reads = append(n.Reads, Read{Path: file, Why: "-" + flag, Source: source})
	data, from, ok = c.File(file)
	if !ok {
		n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("-%s %s: no ConfigMap volume of the pod holds the file, and the program does not start without it", flag, file), Source: source})
		return "", "", file
	}
	return data, from, file
}

func decodeConfig(data, from string, v any) error {
	if err := yaml.Unmarshal([]byte(data), v); err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	return nil
}

// --- Loki ---

var loki = &Program{Name: "loki", Images: []string{"grafana/loki"}, Versions: []string{"3.4"}, needs: lokiNeeds}

type lokiConfig struct {
	Server struct {
		HTTPListenPort *int32 `json:"http_listen_port"`
		GRPCListenPort *int32 `json:"grpc_listen_port"`
	} `json:"server"`
	Common struct {
		PathPrefix        string `json:"path_prefix"`
		ReplicationFactor *int   `json:"replication_factor"`
		Ring              struct {
			KVStore struct {
				Store string `json:"store"`
			} `json:"kvstore"`
		} `json:"ring"`
		Storage struct {
			Azure *lokiAzure `json:"azure"`
		} `json:"storage"`
	} `json:"common"`
	StorageConfig struct {
		Azure *lokiAzure `json:"azure"`
	} `json:"storage_config"`
	Memberlist struct {
		BindPort    *int32   `json:"bind_port"`
		JoinMembers []string `json:"join_members"`
	} `json:"memberlist"`
	Compactor struct {
		WorkingDirectory string `json:"working_directory"`
	} `json:"compactor"`
}

type lokiAzure struct {
	AccountName       string `json:"account_name"`
	EndpointSuffix    string `json:"endpoint_suffix"`
	UseFederatedToken bool   `json:"use_federated_token"`
}

func lokiNeeds(c Container) (Needs, error) {
	var n Needs
	data, from, _ := configFile(c, &n, "config.file", "/etc/loki/local-config.yaml", lokiConfigDoc)
	var cfg lokiConfig
	if err := decodeConfig(data, from, &cfg); err != nil {
		return Needs{}, err
	}
	httpPort, grpcPort, gossipPort := int32(3100), int32(9095), int32(7946)
	if p := cfg.Server.HTTPListenPort; p != nil {
		httpPort = *p
	}
	if p := cfg.Server.GRPCListenPort; p != nil {
		grpcPort = *p
	}
	if p := cfg.Memberlist.BindPort; p != nil {
		gossipPort = *p
	}
	rf := 3
	if cfg.Common.ReplicationFactor != nil {
		rf = *cfg.Common.ReplicationFactor
	}
	n.Listens = append(n.Listens,
		Listen{Port: tcp("http", httpPort), Users: Clients | Scrapers, Why: "server.http_listen_port (default 3100): the push and query API, /ready and /metrics", Source: lokiConfigDoc + "#server"},
		Listen{Port: tcp("grpc", grpcPort), Users: Peers,
			Why:    fmt.Sprintf("server.grpc_listen_port (default 9095): distributors push each stream to its replication_factor (%d) ingesters and queriers ask the ingesters, over gRPC between the replicas", rf),
			Source: lokiPortsDoc + "; " + dskitServer})
	if cfg.Common.Ring.KVStore.Store == "memberlist" || len(cfg.Memberlist.JoinMembers) > 0 {
		n.Listens = append(n.Listens, Listen{Port: tcp("memberlist", gossipPort), Users: Peers,
			Why:    "memberlist.bind_port (default 7946): the hash ring's gossip, TCP only in Loki (no UDP)",
			Source: lokiPortsDoc + "; " + dskitMemberlist})
	}
	if replicas := c.Replicas(); data != "" && replicas > 0 && rf > replicas {
		n.Problems = append(n.Problems, Problem{
			Message: fmt.Sprintf("%s sets replication_factor %d but the workload runs %d replica(s): a push needs a quorum of %d ingesters and fails", from, rf, replicas, rf/2+1),
			Source:  lokiRingDoc})
	}
	for _, az := range []*lokiAzure{cfg.Common.Storage.Azure, cfg.StorageConfig.Azure} {
		if az == nil || az.AccountName == "" {
			continue
		}
		suffix := az.EndpointSuffix
		if suffix == "" {
			suffix = "blob.core.windows.net"
		}
		n.Calls = append(n.Calls, Call{Service: ServiceBlob, Host: az.AccountName + "." + suffix, Port: tcp("https", 443),
			Why: "chunks and index in Azure Blob Storage (storage azure.account_name)", Source: lokiConfigDoc + "#azure_storage_config"})
		if az.UseFederatedToken {
			n.Calls = append(n.Calls, entraCall("azure.use_federated_token: the Azure client exchanges the workload identity token"))
		}
		break
	}
	prefix := cfg.Common.PathPrefix
	if prefix != "" {
		n.Writes = append(n.Writes, Write{Path: prefix, Why: "common.path_prefix: the TSDB index, WAL and rules", Source: lokiConfigDoc + "#common"})
	}
	if d := cfg.Compactor.WorkingDirectory; d != "" {
		n.Writes = append(n.Writes, Write{Path: d, Why: "compactor.working_directory", Source: lokiConfigDoc + "#compactor"})
	}
	return n, nil
}

// --- promtail ---

var promtail = &Program{Name: "promtail", Images: []string{"grafana/promtail"}, Versions: []string{"3.4"}, needs: promtailNeeds}

type promtailConfig struct {
	Server struct {
		HTTPListenPort *int32 `json:"http_listen_port"`
	} `json:"server"`
	Positions struct {
		Filename string `json:"filename"`
	} `json:"positions"`
	Clients []struct {
		URL string `json:"url"`
	} `json:"clients"`
	ScrapeConfigs []struct {
		KubernetesSDConfigs []kubernetesSD `json:"kubernetes_sd_configs"`
	} `json:"scrape_configs"`
}

type kubernetesSD struct {
	Role      string `json:"role"`
	APIServer string `json:"api_server"`
}

func promtailNeeds(c Container) (Needs, error) {
	var n Needs
	data, from, _ := configFile(c, &n, "config.file", "/etc/promtail/config.yml", promtailDoc)
	var cfg promtailConfig
	if err := decodeConfig(data, from, &cfg); err != nil {
		return Needs{}, err
	}
	port := int32(80)
	if p := cfg.Server.HTTPListenPort; p != nil {
		port = *p
	}
	n.Listens = append(n.Listens, Listen{Port: tcp("http", port), Users: Scrapers, Why: "server.http_listen_port (default 80): /ready and /metrics", Source: promtailDoc + "#server"})
	for _, cl := range cfg.Clients {
		call, err := urlCall(cl.URL, "clients.url: pushes log lines to Loki", promtailDoc+"#clients")
		if err != nil {
			return Needs{}, fmt.Errorf("%s: %w", from, err)
		}
		n.Calls = append(n.Calls, call)
	}
	if f := cfg.Positions.Filename; f != "" {
		n.Writes = append(n.Writes, Write{Path: f, Why: "positions.filename: how far each log file has been read", Source: promtailDoc + "#positions"})
	}
	for _, sc := range cfg.ScrapeConfigs {
		for _, sd := range sc.KubernetesSDConfigs {
			if sd.APIServer == "" {
				n.Calls = append(n.Calls, apiServerCall)
				n.ServiceAccountToken = true
			}
		}
	}
	return n, nil
}

// urlCall is a call to an http(s) URL.
func urlCall(raw, why, source string) (Call, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Call{}, fmt.Errorf("URL %q: want scheme://host[:port]/path", raw)
	}
	port := int32(80)
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return Call{}, fmt.Errorf("URL %q: port %q", raw, p)
		}
		port = int32(n)
	}
	return Call{Host: u.Hostname(), Port: tcp(u.Scheme, port), Why: why, Source: source}, nil
}

// --- Grafana ---

var grafana = &Program{Name: "grafana", Images: []string{"grafana/grafana"}, Versions: []string{"11.5"}, needs: grafanaNeeds}

type grafanaDatasources struct {
	Datasources []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"datasources"`
}

func grafanaNeeds(c Container) (Needs, error) {
	var n Needs
	port := int32(3000)
	if v, ok := c.Env("GF_SERVER_HTTP_PORT"); ok {
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return n, fmt.Errorf("GF_SERVER_HTTP_PORT %q: not a port", v)
		}
		port = int32(p)
	}
	n.Listens = append(n.Listens, Listen{Port: tcp("http", port), Users: Clients, Why: "server.http_port (GF_SERVER_HTTP_PORT, default 3000)", Source: grafanaConfigDoc + "#http_port"})
	data := "/var/lib/grafana"
	if v, ok := c.Env("GF_PATHS_DATA"); ok {
		data = v
	}
	n.Writes = append(n.Writes, Write{Path: data, Why: "paths.data: the SQLite database, sessions and plugins", Source: grafanaConfigDoc + "#data"})
	fileEnv := grafanaConfigDoc + "#override-configuration-with-environment-variables"
	for _, f := range []struct{ env, why string }{
		{"GF_SECURITY_ADMIN_PASSWORD__FILE", "security.admin_password from a file (__FILE)"},
		{"GF_DATABASE_PASSWORD__FILE", "database.password from a file (__FILE)"},
		{"GF_AUTH_AZUREAD_CLIENT_SECRET__FILE", "auth.azuread.client_secret from a file (__FILE)"},
	} {
		if v, ok := c.Env(f.env); ok {
			n.Reads = append(n.Reads, Read{Path: v, Why: f.why, Source: fileEnv})
		}
	}
	if err := grafanaDatabase(c, &n); err != nil {
		return n, err
	}
	if err := grafanaSignIn(c, &n); err != nil {
		return n, err
	}
	prov := "/etc/grafana/provisioning"
	if v, ok := c.Env("GF_PATHS_PROVISIONING"); ok {
		prov = v
	}
	dir := path.Join(prov, "datasources")
	for _, m := range c.Spec.VolumeMounts {
		if path.Dir(path.Clean(m.MountPath)) != dir {
			continue
		}
		data, from, ok := c.File(m.MountPath)
		if !ok {
			continue
		}
		var ds grafanaDatasources
		if err := decodeConfig(data, from, &ds); err != nil {
			return n, err
		}
		for _, d := range ds.Datasources {
			call, err := urlCall(d.URL, "data source "+d.Name+" (provisioned from "+m.MountPath+")", grafanaProvDoc)
			if err != nil {
				return n, fmt.Errorf("%s: %w", from, err)
			}
			n.Calls = append(n.Calls, call)
		}
	}
	return n, nil
}

// grafanaDatabase adds the call to Grafana's database, and refuses the
// embedded SQLite file under more than one replica: each would keep its
// own users and sessions, so a session signed in on one replica is
// unknown to the next request's.
func grafanaDatabase(c Container, n *Needs) error {
	typ, _ := c.Env("GF_DATABASE_TYPE")
	if typ == "" {
		typ = "sqlite3" // Grafana's default
	}
	switch typ {
	case "sqlite3":
		if r := c.Replicas(); r > 1 {
			n.Problems = append(n.Problems, Problem{
				Message: fmt.Sprintf("%d replicas each keep users, sessions and preferences in their own SQLite file (database.type %q): a user signed in on one replica is signed out on the next; use a shared postgres or mysql database", r, typ),
				Source:  grafanaHADoc})
		}
		return nil
	case "postgres", "mysql":
	default:
		return fmt.Errorf("GF_DATABASE_TYPE %q: want sqlite3, postgres or mysql", typ)
	}
	host, ok := c.Env("GF_DATABASE_HOST")
	if !ok {
		n.Problems = append(n.Problems, Problem{Message: "database.type " + typ + " without GF_DATABASE_HOST: Grafana would dial 127.0.0.1", Source: grafanaConfigDoc + "#database"})
		return nil
	}
	name, port, found := strings.Cut(host, ":")
	p := int64(5432)
	if typ == "mysql" {
		p = 3306
	}
	if found {
		var err error
		if p, err = strconv.ParseInt(port, 10, 32); err != nil {
			return fmt.Errorf("GF_DATABASE_HOST %q: port %q", host, port)
		}
	}
	svc := ServicePostgres
	if typ == "mysql" {
		svc = "mysql"
	}
	n.Calls = append(n.Calls, Call{Service: svc, Host: name, Port: tcp(typ, int32(p)), Why: "database." + typ + ": users, sessions and preferences", Source: grafanaConfigDoc + "#database"})
	return nil
}

// grafanaSignIn adds Entra ID sign-in's token exchange, and refuses it
// without a root URL: Grafana would send Entra ID a redirect URI on
// http://localhost:3000, which the app registration does not list.
func grafanaSignIn(c Container, n *Needs) error {
	if v, _ := c.Env("GF_AUTH_AZUREAD_ENABLED"); v != "true" {
		return nil
	}
	tokenURL, ok := c.Env("GF_AUTH_AZUREAD_TOKEN_URL")
	if !ok {
		n.Problems = append(n.Problems, Problem{Message: "auth.azuread is enabled without a token_url", Source: grafanaAzureADDoc})
		return nil
	}
	call, err := urlCall(tokenURL, "auth.azuread.token_url: sign-in exchanges the authorization code", grafanaAzureADDoc)
	if err != nil {
		return fmt.Errorf("GF_AUTH_AZUREAD_TOKEN_URL: %w", err)
	}
	if call.Host == EntraIDHost {
		call.Service = ServiceEntraID
	}
	n.Calls = append(n.Calls, call)
	root, _ := c.Env("GF_SERVER_ROOT_URL")
	if !strings.HasPrefix(root, "https://") {
		n.Problems = append(n.Problems, Problem{
			Message: fmt.Sprintf("auth.azuread is enabled but server.root_url is %q: the redirect URI Grafana sends is built from it, and Entra ID accepts only the https URL the app registration lists", root),
			Source:  grafanaAzureADDoc})
	}
	return nil
}

// --- Prometheus ---

var prometheus = &Program{Name: "prometheus", Images: []string{"prom/prometheus"}, Versions: []string{"3.2"}, needs: prometheusNeeds}

type prometheusConfig struct {
	RuleFiles         []string `json:"rule_files"`
	ScrapeConfigFiles []string `json:"scrape_config_files"`
	Alerting          struct {
		Alertmanagers []struct {
			Scheme        string  `json:"scheme"`
			DNSSDConfigs  []dnsSD `json:"dns_sd_configs"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
		} `json:"alertmanagers"`
	} `json:"alerting"`
	ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
	RemoteWrite   []struct {
		URL     string `json:"url"`
		AzureAD *struct {
			ManagedIdentity *struct{} `json:"managed_identity"`
			SDK             *struct{} `json:"sdk"`
		} `json:"azuread"`
	} `json:"remote_write"`
}

type dnsSD struct {
	Names []string `json:"names"`
	Type  string   `json:"type"`
	Port  int32    `json:"port"`
}

type scrapeConfig struct {
	JobName             string         `json:"job_name"`
	KubernetesSDConfigs []kubernetesSD `json:"kubernetes_sd_configs"`
	Authorization       struct {
		CredentialsFile string `json:"credentials_file"`
	} `json:"authorization"`
	TLSConfig struct {
		CAFile string `json:"ca_file"`
	} `json:"tls_config"`
	RelabelConfigs []struct {
		SourceLabels []string `json:"source_labels"`
	} `json:"relabel_configs"`
}

func prometheusNeeds(c Container) (Needs, error) {
	var n Needs
	data, from, file := configFile(c, &n, "config.file", "prometheus.yml", prometheusFlags)
	var cfg prometheusConfig
	if err := decodeConfig(data, from, &cfg); err != nil {
		return Needs{}, err
	}
	addr, ok := c.Flag("web.listen-address")
	if !ok {
		addr = "0.0.0.0:9090"
	}
	port, _, err := listenPort(addr)
	if err != nil {
		return n, fmt.Errorf("--web.listen-address: %w", err)
	}
	n.Listens = append(n.Listens, Listen{Port: tcp("http", port), Users: Clients | Scrapers, Why: "--web.listen-address (default 0.0.0.0:9090): the query API and /metrics", Source: prometheusFlags})
	tsdb, ok := c.Flag("storage.tsdb.path")
	if !ok {
		tsdb = "data/"
	}
	n.Writes = append(n.Writes, Write{Path: tsdb, Why: "--storage.tsdb.path (default data/)", Source: prometheusFlags})
	for _, r := range cfg.RuleFiles {
		n.Reads = append(n.Reads, Read{Path: r, Why: "rule_files", Source: prometheusConfDoc + "#configuration-file"})
	}
	jobs := cfg.ScrapeConfigs
	dir := path.Dir(file)
	for _, pattern := range cfg.ScrapeConfigFiles {
		if !path.IsAbs(pattern) {
			pattern = path.Join(dir, pattern)
		}
		n.Reads = append(n.Reads, Read{Path: pattern, Why: "scrape_config_files", Source: prometheusConfDoc + "#configuration-file"})
		for _, m := range c.matching(pattern) {
			data, from, _ := c.File(m)
			var more struct {
				ScrapeConfigs []scrapeConfig `json:"scrape_configs"`
			}
			if err := decodeConfig(data, from, &more); err != nil {
				return n, err
			}
			jobs = append(jobs, more.ScrapeConfigs...)
		}
	}
	for _, am := range cfg.Alerting.Alertmanagers {
		for _, sd := range am.DNSSDConfigs {
			for _, name := range sd.Names {
				n.Calls = append(n.Calls, Call{Host: name, Port: tcp("http", sd.Port),
					Why: "alerting.alertmanagers dns_sd_configs: every address of " + name, Source: prometheusConfDoc + "#dns_sd_config"})
			}
		}
		for _, sc := range am.StaticConfigs {
			for _, t := range sc.Targets {
				h, p, err := hostPort(t)
				if err != nil {
					return n, fmt.Errorf("%s: alertmanager target: %w", from, err)
				}
				n.Calls = append(n.Calls, Call{Host: h, Port: tcp("http", p), Why: "alerting.alertmanagers static_configs", Source: prometheusConfDoc + "#alertmanager_config"})
			}
		}
	}
	for _, rw := range cfg.RemoteWrite {
		u, err := url.Parse(rw.URL)
		if err != nil || u.Hostname() == "" {
			n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("%s: remote_write url %q is not a URL", from, rw.URL), Source: prometheusConfDoc + "#remote_write"})
			continue
		}
		port := int32(443)
		if p := u.Port(); p != "" {
			v, _ := strconv.Atoi(p)
			port = int32(v)
		} else if u.Scheme == "http" {
			port = 80
		}
		call := Call{Host: u.Hostname(), Port: tcp(u.Scheme, port), Why: "remote_write url: every sample is sent there", Source: prometheusConfDoc + "#remote_write"}
		if strings.HasSuffix(u.Hostname(), metricsIngestSuffix) {
			call.Service = ServiceMonitor
		}
		n.Calls = append(n.Calls, call)
		// azuread's sdk takes the Azure SDK's default credential, which
		// exchanges the workload identity token at Entra ID
		// (storage/remote/azuread/azuread.go: newSDKTokenCredential).
		if a := rw.AzureAD; a != nil && (a.SDK != nil || a.ManagedIdentity != nil) {
			n.Calls = append(n.Calls, entraCall("remote_write azuread: the Azure credential gets a token for the ingestion endpoint"))
		}
	}
	for _, job := range jobs {
		if f := job.Authorization.CredentialsFile; f != "" {
			n.Reads = append(n.Reads, Read{Path: f, Why: "job " + job.JobName + ": authorization.credentials_file", Source: prometheusConfDoc + "#scrape_config"})
		}
		if f := job.TLSConfig.CAFile; f != "" {
			n.Reads = append(n.Reads, Read{Path: f, Why: "job " + job.JobName + ": tls_config.ca_file", Source: prometheusConfDoc + "#tls_config"})
		}
		for _, sd := range job.KubernetesSDConfigs {
			if sd.APIServer == "" {
				n.Calls = append(n.Calls, apiServerCall)
				n.ServiceAccountToken = true
			}
			switch {
			case sd.Role == "node":
				n.Calls = append(n.Calls, Call{Service: ServiceNodes, Host: "every node", Port: tcp("kubelet", KubeletPort),
					Why: "job " + job.JobName + ": kubernetes_sd role node scrapes each kubelet", Source: prometheusNodeRole})
			case sd.Role == "pod" && job.keepsAnnotated():
				n.Calls = append(n.Calls, Call{Service: ServiceAnnotatedPods, Host: "every pod annotated prometheus.io/scrape", Port: tcp("metrics", 0),
					Why: "job " + job.JobName + ": kubernetes_sd role pod, kept by prometheus.io/scrape, on prometheus.io/port", Source: prometheusConfDoc + "#kubernetes_sd_config"})
			}
		}
	}
	return n, nil
}

// keepsAnnotated reports whether a pod-role job's relabelling reads the
// prometheus.io/scrape and prometheus.io/port annotations.
func (s scrapeConfig) keepsAnnotated() bool {
	var scrape, port bool
	for _, r := range s.RelabelConfigs {
		for _, l := range r.SourceLabels {
			scrape = scrape || l == "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
			port = port || l == "__meta_kubernetes_pod_annotation_prometheus_io_port"
		}
	}
	return scrape && port
}

// matching returns the files of the container's ConfigMap volumes a glob
// pattern matches.
func (c Container) matching(pattern string) []string {
	var out []string
	for _, m := range c.Spec.VolumeMounts {
		v, ok := c.Volume(m.Name)
		if !ok || v.ConfigMap == nil {
			continue
		}
		cm, ok := c.object("ConfigMap", v.ConfigMap.Name)
		if !ok {
			continue
		}
		data, _ := cm.Object["data"].(map[string]any)
		for key := range data {
			p := path.Join(m.MountPath, key)
			if m.SubPath != "" {
				if m.SubPath != key {
					continue
				}
				p = m.MountPath
			}
			if ok, _ := path.Match(pattern, p); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// --- Alertmanager ---

var alertmanager = &Program{Name: "alertmanager", Images: []string{"prom/alertmanager"}, Versions: []string{"0.28"}, needs: alertmanagerNeeds}

type alertmanagerConfig struct {
	Receivers []struct {
		WebhookConfigs []struct {
			URL     string `json:"url"`
			URLFile string `json:"url_file"`
		} `json:"webhook_configs"`
	} `json:"receivers"`
}

func alertmanagerNeeds(c Container) (Needs, error) {
	var n Needs
	data, from, _ := configFile(c, &n, "config.file", "alertmanager.yml", alertmanagerFlags)
	var cfg alertmanagerConfig
	if err := decodeConfig(data, from, &cfg); err != nil {
		return Needs{}, err
	}
	web, ok := c.Flag("web.listen-address")
	if !ok {
		web = ":9093"
	}
	port, _, err := listenPort(web)
	if err != nil {
		return n, fmt.Errorf("--web.listen-address: %w", err)
	}
	n.Listens = append(n.Listens, Listen{Port: tcp("web", port), Users: Clients | Scrapers, Why: "--web.listen-address (default :9093): alerts from Prometheus, the API and /metrics", Source: alertmanagerFlags})
	cluster, given := c.Flag("cluster.listen-address")
	if !given {
		cluster = "0.0.0.0:9094"
	}
	if cp, on, err := listenPort(cluster); err != nil {
		return n, fmt.Errorf("--cluster.listen-address: %w", err)
	} else if on {
		why := "--cluster.listen-address (default 0.0.0.0:9094): the replicas gossip silences and notification state (hashicorp memberlist)"
		n.Listens = append(n.Listens,
			Listen{Port: tcp("cluster", cp), Users: Peers, Why: why + ", TCP", Source: alertmanagerHA},
			Listen{Port: udp("cluster-udp", cp), Users: Peers, Why: why + ", UDP", Source: alertmanagerHA})
		for _, p := range c.Flags("cluster.peer") {
			if _, pp, err := hostPort(p); err != nil {
				return n, fmt.Errorf("--cluster.peer: %w", err)
			} else if pp != cp {
				n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("--cluster.peer %s names port %d, but the replicas listen for gossip on %d", p, pp, cp), Source: alertmanagerHA})
			}
		}
	}
	storage, ok := c.Flag("storage.path")
	if !ok {
		storage = "data/"
	}
	n.Writes = append(n.Writes, Write{Path: storage, Why: "--storage.path (default data/): silences and the notification log", Source: alertmanagerFlags})
	for _, r := range cfg.Receivers {
		for _, w := range r.WebhookConfigs {
			if w.URLFile != "" {
				n.Reads = append(n.Reads, Read{Path: w.URLFile, Why: "webhook_configs url_file", Source: alertmanagerConfigDoc})
			}
			host := "the webhook URL in " + w.URLFile
			if w.URL != "" {
				if u, err := url.Parse(w.URL); err == nil {
					host = u.Hostname()
				}
			}
			n.Calls = append(n.Calls, Call{Service: ServiceInternet, Host: host, Port: tcp("https", 443), Why: "a receiver's webhook", Source: alertmanagerConfigDoc})
		}
	}
	return n, nil
}

// --- kube-state-metrics ---

var kubeStateMetrics = &Program{Name: "kube-state-metrics", Images: []string{"kube-state-metrics/kube-state-metrics"}, Versions: []string{"2.15"}, needs: ksmNeeds}

func ksmNeeds(c Container) (Needs, error) {
	var n Needs
	listens, err := flagPorts(c, ksmFlags, []portFlag{
		{"port", 8080, Clients | Scrapers, "--port (default 8080): the object metrics"},
		{"telemetry-port", 8081, Scrapers, "--telemetry-port (default 8081): its own metrics"},
	})
	if err != nil {
		return n, err
	}
	n.Listens = append(n.Listens, listens...)
	if _, ok := c.Flag("kubeconfig"); !ok {
		if _, ok := c.Flag("apiserver"); !ok {
			n.Calls = append(n.Calls, apiServerCall)
			n.ServiceAccountToken = true
		}
	}
	return n, nil
}
