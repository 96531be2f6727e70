// Command boxpod starts one container of a pod of the stamp in a box
// (make programs): "boxpod run" enters the pod's network namespace, builds
// the container's filesystem and execs its command; "boxpod stub" stands
// in for a program that cannot run here. Its input is in the environment
// (generator/stampbox/podrun).
package main

import (
	"fmt"
	"os"

	"github.com/libertum/platform-gitops/generator/stampbox/podrun"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == "run":
		err = podrun.Run()
	case len(os.Args) == 2 && os.Args[1] == "stub":
		err = podrun.RunStub()
	default:
		err = fmt.Errorf("usage: boxpod run|stub")
	}
	fmt.Fprintln(os.Stderr, "boxpod:", err)
	os.Exit(1)
}
