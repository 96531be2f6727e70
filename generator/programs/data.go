package programs

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Sources the data entries cite.
const (
	kafkaListeners  = "https://kafka.apache.org/39/documentation/#brokerconfigs_listeners"
	kafkaVoters     = "https://kafka.apache.org/39/documentation/#brokerconfigs_controller.quorum.voters"
	kafkaInterDoc   = "https://kafka.apache.org/39/documentation/#brokerconfigs_inter.broker.listener.name (default: the listener named by security.inter.broker.protocol, PLAINTEXT)"
	kafkaLogDirs    = "https://kafka.apache.org/39/documentation/#brokerconfigs_log.dirs"
	kafkaDockerRun  = "https://github.com/apache/kafka/blob/3.9/docker/resources/common-scripts/configure (the image turns KAFKA_* variables into /opt/kafka/config/server.properties at start)"
	redisConf       = "https://raw.githubusercontent.com/redis/redis/7.4/redis.conf (port 6379, replicaof <masterip> <masterport>, dir)"
	redisReplDoc    = "https://redis.io/docs/latest/operate/oss_and_stack/management/replication/"
	mongodDoc       = "https://www.mongodb.com/docs/v7.0/reference/program/mongod/"
	mongodKeyfile   = "https://www.mongodb.com/docs/v7.0/core/security-internal-authentication/#keyfiles (\"On UNIX systems, the keyfile must not have group or world permissions\"); src/mongo/db/auth/security_file.cpp (st_mode & (S_IRWXG|S_IRWXO): \"permissions on ... are too open\")"
	mongodSocketDoc = "https://www.mongodb.com/docs/v7.0/reference/configuration-options/#mongodb-setting-net.unixDomainSocket.pathPrefix (default /tmp)"
	mongodReplDoc   = "https://www.mongodb.com/docs/v7.0/core/replica-set-members/ (members replicate and hold elections over the members' host:port)"
	mongoshLogDoc   = "https://www.mongodb.com/docs/mongodb-shell/logs/ (mongosh keeps its logs and history under ~/.mongodb)"
)

// --- Kafka ---

var kafka = &Program{Name: "kafka", Images: []string{"apache/kafka"}, Versions: []string{"3.9"}, needs: kafkaNeeds}

type kafkaListener struct {
	name string
	port int32
}

func kafkaNeeds(c Container) (Needs, error) {
	var n Needs
	raw, ok := c.Env("KAFKA_LISTENERS")
	if !ok {
		return n, fmt.Errorf("KAFKA_LISTENERS is not set: the catalog reads the listeners from it")
	}
	var ls []kafkaListener
	for _, l := range strings.Split(raw, ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(l), "://")
		if !ok {
			return n, fmt.Errorf("KAFKA_LISTENERS %q: want NAME://host:port", l)
		}
		_, port, err := hostPort(addr)
		if err != nil {
			return n, fmt.Errorf("KAFKA_LISTENERS: %w", err)
		}
		ls = append(ls, kafkaListener{name, port})
	}
	controllers := map[string]bool{}
	if v, ok := c.Env("KAFKA_CONTROLLER_LISTENER_NAMES"); ok {
		for _, name := range strings.Split(v, ",") {
			controllers[strings.TrimSpace(name)] = true
		}
	}
	inter := "PLAINTEXT"
	if v, ok := c.Env("KAFKA_INTER_BROKER_LISTENER_NAME"); ok {
		inter = v
	}
	for _, l := range ls {
		switch {
		case controllers[l.name]:
			n.Listens = append(n.Listens, Listen{Port: tcp(strings.ToLower(l.name), l.port), Users: Peers,
				Why: "listener " + l.name + " (controller.listener.names): the KRaft quorum between the voters", Source: kafkaListeners + "; " + kafkaVoters})
		case l.name == inter:
			n.Listens = append(n.Listens, Listen{Port: tcp(strings.ToLower(l.name), l.port), Users: Clients | Peers,
				Why: "listener " + l.name + ": clients, and the brokers replicating partitions (inter.broker.listener.name)", Source: kafkaListeners + "; " + kafkaInterDoc})
		default:
			n.Listens = append(n.Listens, Listen{Port: tcp(strings.ToLower(l.name), l.port), Users: Clients,
				Why: "listener " + l.name, Source: kafkaListeners})
		}
	}
	if v, ok := c.Env("KAFKA_CONTROLLER_QUORUM_VOTERS"); ok {
		for _, voter := range strings.Split(v, ",") {
			_, addr, ok := strings.Cut(voter, "@")
			if !ok {
				return n, fmt.Errorf("KAFKA_CONTROLLER_QUORUM_VOTERS %q: want id@host:port", voter)
			}
			_, port, err := hostPort(addr)
			if err != nil {
				return n, fmt.Errorf("KAFKA_CONTROLLER_QUORUM_VOTERS: %w", err)
			}
			if !slices.ContainsFunc(ls, func(l kafkaListener) bool { return controllers[l.name] && l.port == port }) {
				n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("voter %s is reached on port %d, which no controller listener of KAFKA_LISTENERS opens", voter, port), Source: kafkaVoters})
			}
		}
	}
	if v, ok := c.Env("KAFKA_LOG_DIRS"); ok {
		for _, d := range strings.Split(v, ",") {
			n.Writes = append(n.Writes, Write{Path: d, Why: "log.dirs (KAFKA_LOG_DIRS): the partitions", Source: kafkaLogDirs})
		}
	}
	n.Writes = append(n.Writes, Write{Path: "/opt/kafka/config", Why: "the image's entrypoint writes server.properties at start", Source: kafkaDockerRun})
	return n, nil
}

// --- Redis ---

var redis = &Program{Name: "redis", Images: []string{"redis", "library/redis"}, Versions: []string{"7.4", "7.0"}, needs: redisNeeds}

var (
	redisServerConf = regexp.MustCompile(`redis-server\s+(\S+\.conf)`)
	redisReplicaof  = regexp.MustCompile(`(?m)(?:^|['"\s])(?:replicaof|slaveof)\s+(\S+)\s+(\d+)`)
	redisDirective  = regexp.MustCompile(`(?m)^\s*(port|dir)\s+(\S+)`)
)

func redisNeeds(c Container) (Needs, error) {
	var n Needs
	script, _ := c.Script()
	argv := strings.Join(c.argv(), " ")
	conf := ""
	if m := redisServerConf.FindStringSubmatch(script + " " + argv); m != nil {
		conf = m[1]
	}
	text := script
	if conf != "" {
		data, from, ok := c.File(conf)
		if !ok {
			return n, fmt.Errorf("redis-server %s: no ConfigMap volume of the pod holds it", conf)
		}
		_ = from
		text = data + "\n" + script
		n.Reads = append(n.Reads, Read{Path: conf, Why: "the configuration file redis-server is started with", Source: redisConf})
	}
	port, dir := int32(6379), "./"
	for _, m := range redisDirective.FindAllStringSubmatch(text, -1) {
		switch m[1] {
		case "port":
			p, err := strconv.ParseInt(m[2], 10, 32)
			if err != nil {
				return n, fmt.Errorf("port %q: not a number", m[2])
			}
			port = int32(p)
		case "dir":
			dir = m[2]
		}
	}
	users, why := Clients, "port (default 6379)"
	for _, m := range redisReplicaof.FindAllStringSubmatch(text, -1) {
		p, _ := strconv.ParseInt(m[2], 10, 32)
		users = Clients | Peers
		why = fmt.Sprintf("port (default 6379): clients, and the replicas that replicate the primary (replicaof %s %s)", m[1], m[2])
		if int32(p) != port {
			n.Problems = append(n.Problems, Problem{Message: fmt.Sprintf("replicaof %s %s names port %s, but redis listens on %d", m[1], m[2], m[2], port), Source: redisReplDoc})
		}
	}
	n.Listens = append(n.Listens, Listen{Port: tcp("redis", port), Users: users, Why: why, Source: redisConf + "; " + redisReplDoc})
	n.Writes = append(n.Writes, Write{Path: dir, Why: "dir: the append-only file and RDB snapshots", Source: redisConf})
	return n, nil
}

// --- MongoDB ---

// usesMongod: the mongo image runs mongod when no command replaces its
// entrypoint, or when the command is mongod itself.
func usesMongod(c *corev1.Container) bool {
	return len(c.Command) == 0 || path.Base(c.Command[0]) == "mongod" || path.Base(c.Command[0]) == "docker-entrypoint.sh"
}

var mongod = &Program{Name: "mongod", Images: []string{"mongo", "library/mongo"}, Versions: []string{"7.0"}, Run: usesMongod, needs: mongodNeeds}

var mongosh = &Program{Name: "mongosh", Images: []string{"mongo", "library/mongo"}, Versions: []string{"7.0"},
	Run: func(c *corev1.Container) bool {
		return !usesMongod(c) && strings.Contains(strings.Join(append(slices.Clone(c.Command), c.Args...), " "), "mongosh")
	}, needs: mongoshNeeds}

func mongodNeeds(c Container) (Needs, error) {
	var n Needs
	port := int32(27017)
	if v, ok := c.Flag("port"); ok {
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return n, fmt.Errorf("--port %q: not a port", v)
		}
		port = int32(p)
	}
	l := Listen{Port: tcp("mongodb", port), Users: Clients, Why: "--port (default 27017)", Source: mongodDoc + "#std-option-mongod.--port"}
	if set, ok := c.Flag("replSet"); ok {
		l.Users |= Peers
		l.Why = "--port (default 27017): clients, and the members of replica set " + set + " (replication, heartbeats, elections)"
		l.Source += "; " + mongodReplDoc
	}
	n.Listens = append(n.Listens, l)
	if kf, ok := c.Flag("keyFile"); ok {
		n.Reads = append(n.Reads, Read{Path: kf, Private: true, Why: "--keyFile: the members' shared key; mongod refuses it when group or others may read it", Source: mongodKeyfile})
	}
	dbpath, ok := c.Flag("dbpath")
	if !ok {
		dbpath = "/data/db"
	}
	n.Writes = append(n.Writes, Write{Path: dbpath, Why: "--dbpath (default /data/db)", Source: mongodDoc + "#std-option-mongod.--dbpath"})
	if !c.HasFlag("nounixsocket") {
		n.Writes = append(n.Writes, Write{Path: "/tmp", Why: "the Unix domain socket /tmp/mongodb-<port>.sock", Source: mongodSocketDoc})
	}
	return n, nil
}

func mongoshNeeds(c Container) (Needs, error) {
	home, ok := c.Env("HOME")
	if !ok {
		home = "/root"
	}
	return Needs{Writes: []Write{{Path: path.Join(home, ".mongodb"), Why: "mongosh's logs and history under $HOME/.mongodb", Source: mongoshLogDoc}}}, nil
}
