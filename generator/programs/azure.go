package programs

import (
	"fmt"
	"io/fs"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/libertum/platform-gitops/generator/manifest"
)

// Sources the Azure entries cite.
const (
	workloadIdentityWebhook = "https://azure.github.io/azure-workload-identity/docs/installation/mutating-admission-webhook.html (pods labelled azure.workload.identity/use get AZURE_AUTHORITY_HOST=https://login.microsoftonline.com/ and a projected token to exchange there)"
	EntraIDSource           = "login.microsoftonline.com is Entra ID's authority host; its addresses are the AzureActiveDirectory service tag (https://learn.microsoft.com/en-us/azure/virtual-network/service-tags-overview)"
	keyVaultObjects         = "https://github.com/Azure/secrets-store-csi-driver-provider-azure/blob/v1.6.2/pkg/provider/types/types.go (KeyVaultObject.FilePermission, octal; objectAlias names the file)"
	csiDefaultMode          = "https://github.com/kubernetes-sigs/secrets-store-csi-driver/blob/v1.4.8/pkg/secrets-store/nodeserver.go (filePermission os.FileMode = 0644, the default the provider receives)"
	csiNoFSGroup            = "https://github.com/kubernetes/kubernetes/blob/v1.32.13/pkg/volume/csi/csi_mounter.go (supportsFSGroup: a read-only CSI volume gets no fsGroup: the driver's files stay root-owned)"
)

// WorkloadIdentityLabel is the pod label that asks the workload identity
// webhook for a federated token.
const WorkloadIdentityLabel = "azure.workload.identity/use"

// EntraIDHost is where workload identity exchanges the pod's token.
const EntraIDHost = "login.microsoftonline.com"

func entraCall(why string) Call {
	return Call{Service: ServiceEntraID, Host: EntraIDHost, Port: tcp("https", 443), Why: why, Source: workloadIdentityWebhook}
}

// PodNeeds is what a pod needs whatever its containers run: a pod using
// Azure workload identity exchanges its token at Entra ID before it can
// call Blob Storage or Key Vault itself.
func PodNeeds(t *corev1.PodTemplateSpec) Needs {
	var n Needs
	if t.Labels[WorkloadIdentityLabel] == "true" {
		n.Program = "azure-workload-identity"
		n.Calls = append(n.Calls, entraCall("workload identity (label "+WorkloadIdentityLabel+"): the pod's token is exchanged for an Entra ID token"))
	}
	return n
}

// SecretFile is a file the Key Vault CSI driver writes into a pod.
type SecretFile struct {
	Name string
	Mode fs.FileMode
	// UID and GID own the file: root, the driver's (fsGroup does not
	// apply to the read-only CSI volume).
	UID, GID int64
	Source   string
}

type keyVaultObject struct {
	ObjectName     string `json:"objectName"`
	ObjectAlias    string `json:"objectAlias"`
	FilePermission string `json:"filePermission"`
}

// SecretFiles returns the files a SecretProviderClass of the Azure
// provider mounts, by file name, with the mode and owner each gets.
func SecretFiles(spc *manifest.Object) (map[string]SecretFile, error) {
	raw, _, _ := unstructured.NestedString(spc.Object, "spec", "parameters", "objects")
	var list struct {
		Array []string `json:"array"`
	}
	if err := yaml.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("%s: parameters.objects: %w", manifest.IDOf(spc), err)
	}
	out := map[string]SecretFile{}
	for _, item := range list.Array {
		var o keyVaultObject
		if err := yaml.Unmarshal([]byte(item), &o); err != nil {
			return nil, fmt.Errorf("%s: parameters.objects: %w", manifest.IDOf(spc), err)
		}
		name := o.ObjectName
		if o.ObjectAlias != "" {
			name = o.ObjectAlias
		}
		f := SecretFile{Name: name, Mode: 0o644, Source: csiDefaultMode + "; " + csiNoFSGroup}
		if o.FilePermission != "" {
			m, err := strconv.ParseUint(o.FilePermission, 8, 32)
			if err != nil || m > 0o777 {
				return nil, fmt.Errorf("%s: object %s: filePermission %q is not an octal mode", manifest.IDOf(spc), o.ObjectName, o.FilePermission)
			}
			f.Mode, f.Source = fs.FileMode(m), keyVaultObjects+"; "+csiNoFSGroup
		}
		out[name] = f
	}
	return out, nil
}
