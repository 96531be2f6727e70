package programs

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// InstallDoc is coreutils' install, which init containers use to put a
// file in place with the mode and owner a program asks for.
const InstallDoc = "https://www.gnu.org/software/coreutils/manual/html_node/install-invocation.html (install -m MODE SOURCE DEST: DEST gets MODE, owned by whoever runs install)"

// install is coreutils' install run as a container's command, in any image.
var install = &Program{Name: "install", Versions: []string{"coreutils"},
	Run:   func(c *corev1.Container) bool { _, _, _, ok := Install(c); return ok },
	needs: installNeeds}

func installNeeds(c Container) (Needs, error) {
	src, dst, mode, _ := Install(c.Spec)
	return Needs{
		Reads:  []Read{{Path: src, Why: fmt.Sprintf("install's source for %s", dst), Source: InstallDoc}},
		Writes: []Write{{Path: dst, Why: fmt.Sprintf("install writes it %04o", mode), Source: InstallDoc}},
	}, nil
}

// Install reads a container that runs install [-m MODE] SOURCE DEST: what
// it copies, where, and the mode DEST gets (0755 without -m).
func Install(c *corev1.Container) (src, dst string, mode fs.FileMode, ok bool) {
	argv := append(slices.Clone(c.Command), c.Args...)
	if len(argv) == 0 || path.Base(argv[0]) != "install" {
		return "", "", 0, false
	}
	mode = 0o755
	var rest []string
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-m" && i+1 < len(argv):
			m, err := strconv.ParseUint(argv[i+1], 8, 32)
			if err != nil {
				return "", "", 0, false
			}
			mode = fs.FileMode(m)
			i++
		case strings.HasPrefix(a, "--mode="):
			m, err := strconv.ParseUint(strings.TrimPrefix(a, "--mode="), 8, 32)
			if err != nil {
				return "", "", 0, false
			}
			mode = fs.FileMode(m)
		case strings.HasPrefix(a, "-"):
			return "", "", 0, false // a form this reading does not know
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) != 2 {
		return "", "", 0, false
	}
	return rest[0], rest[1], mode, true
}
