package check

import (
	"encoding/json"

	"github.com/libertum/platform-gitops/generator/connectivity"
	"github.com/libertum/platform-gitops/generator/render"
	"github.com/libertum/platform-gitops/generator/spec"
)

// connsKind versions an environment's cached connections.
const connsKind = "connections-env/1"

// keepConnections holds the connections the connectivity rule evaluated
// for an environment, for Connections (diff's connectivity delta reads
// the same answers instead of asking the engine again), without their
// links to the objects: the environment's objects are not held past its
// check.
func (c *Checker) keepConnections(env *spec.Environment, conns []connectivity.Conn) {
	c.conns.set(env.Name(), connectivity.Unlinked(conns))
}

// Connections returns what the NetworkPolicy engine answers for every
// connection of an environment of a render this Checker checked (Render):
// the answers its connectivity rule evaluated, else the cache's for the
// same content (the environment file and every rendered byte, as its
// findings are keyed), else the engine's now. Only the engine's answers
// now carry links to the objects (Findings reads them); the others are
// for reports.
func (c *Checker) Connections(env *spec.Environment, res *render.Result) ([]connectivity.Conn, error) {
	conns, ok := c.conns.get(env.Name())
	if ok {
		return conns, nil
	}
	key, keyed := c.derivedKey(connsKind, env, res)
	if keyed {
		if b, ok := c.o.Cache.Get(key); ok {
			if err := json.Unmarshal(b, &conns); err == nil {
				return conns, nil
			}
			c.o.Cache.Miss(key)
		}
	}
	conns, err := connectivity.Evaluate(env, Inputs(env, res), nil)
	if err != nil {
		return nil, err
	}
	c.storeConnections(env, res, conns)
	return conns, nil
}

// storeConnections caches an environment's connections by its content.
func (c *Checker) storeConnections(env *spec.Environment, res *render.Result, conns []connectivity.Conn) {
	if key, ok := c.derivedKey(connsKind, env, res); ok {
		if b, err := json.Marshal(conns); err == nil {
			_ = c.o.Cache.Put(key, b) // a failed write only costs the next run time
		}
	}
}
