// Command argocd runs the two Argo CD processes make argocd needs — the
// application-controller and the repo-server — plus the git credential
// helper the repo-server calls back into. Which one runs is chosen by the
// name it is started under (symlinks), as upstream's single binary does.
// A module of its own, never part of the tool's go.mod: it builds Argo CD
// with exactly argo-cd's build list (its replace block, copied in go.mod).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	controller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	askpass "github.com/argoproj/argo-cd/v2/cmd/argocd-git-ask-pass/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
	"github.com/argoproj/argo-cd/v2/cmd/util"
)

func main() {
	name := filepath.Base(os.Args[0])
	if v := os.Getenv("ARGOCD_BINARY_NAME"); v != "" {
		name = v
	}
	var cmd *cobra.Command
	switch name {
	case "argocd-application-controller":
		cmd = controller.NewCommand()
	case "argocd-repo-server":
		cmd = reposerver.NewCommand()
	case "argocd-git-ask-pass":
		cmd = askpass.NewCommand()
	default:
		fmt.Fprintf(os.Stderr, "argocd: started as %q; run it as argocd-application-controller, argocd-repo-server or argocd-git-ask-pass\n", name)
		os.Exit(2)
	}
	util.SetAutoMaxProcs(name == "argocd-git-ask-pass")
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
