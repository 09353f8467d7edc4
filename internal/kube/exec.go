// Package kube speaks the two kubectl interfaces oauthctl serves: the exec
// credential plugin protocol (the ExecCredential objects kubectl passes in
// KUBERNETES_EXEC_INFO and reads back on stdout) and the kubeconfig file that
// names the plugin. The objects are small hand-written structs rather than
// k8s.io/client-go's types: client-go would add megabytes and a slow init to
// a binary whose `token` path is timed in milliseconds.
package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The ExecCredential API versions kubectl speaks to exec plugins. v1alpha1
// was removed in Kubernetes 1.24 and is refused.
const (
	APIVersionV1      = "client.authentication.k8s.io/v1"
	APIVersionV1beta1 = "client.authentication.k8s.io/v1beta1"

	// ExecInfoEnv is the variable in which kubectl passes the plugin its
	// input ExecCredential (apiVersion, spec.interactive, spec.cluster).
	ExecInfoEnv = "KUBERNETES_EXEC_INFO"

	execCredentialKind = "ExecCredential"
	// maxExecInfo bounds KUBERNETES_EXEC_INFO. With provideClusterInfo it
	// carries the cluster's CA bundle; Linux caps one environment string at
	// 128 KiB anyway.
	maxExecInfo = 256 << 10
)

// ErrExecInfo is a KUBERNETES_EXEC_INFO that oauthctl cannot use: not JSON,
// not an ExecCredential, or an apiVersion it does not speak.
var ErrExecInfo = errors.New("invalid " + ExecInfoEnv)

// ExecInfo is what kubectl told the plugin about the call.
type ExecInfo struct {
	// APIVersion is the ExecCredential version to answer with.
	APIVersion string
	// Interactive is true when kubectl lets the plugin use the terminal
	// (interactiveMode IfAvailable with a terminal on stdin, or Always).
	Interactive bool
}

// execInfoJSON is the input object; cluster info, when sent, is ignored.
type execInfoJSON struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool `json:"interactive"`
	} `json:"spec"`
}

// ParseExecInfo reads the value of KUBERNETES_EXEC_INFO. An empty value (the
// plugin run by hand, or by a kubectl too old to set it) means v1, not
// interactive. Steps:
//  1. bound the size and decode the JSON object;
//  2. require kind ExecCredential (when present) and a known apiVersion.
func ParseExecInfo(v string) (ExecInfo, error) {
	if strings.TrimSpace(v) == "" {
		return ExecInfo{APIVersion: APIVersionV1}, nil
	}
	if len(v) > maxExecInfo {
		return ExecInfo{}, fmt.Errorf("%w: longer than %d KiB", ErrExecInfo, maxExecInfo>>10)
	}
	var in execInfoJSON
	dec := json.NewDecoder(strings.NewReader(v))
	if err := dec.Decode(&in); err != nil {
		return ExecInfo{}, fmt.Errorf("%w: not an ExecCredential JSON object: %s", ErrExecInfo, jsonErrMsg(err))
	}
	if dec.More() {
		return ExecInfo{}, fmt.Errorf("%w: more than one JSON value", ErrExecInfo)
	}
	if in.Kind != "" && in.Kind != execCredentialKind {
		return ExecInfo{}, fmt.Errorf("%w: kind is %q, want %s", ErrExecInfo, clip(in.Kind), execCredentialKind)
	}
	switch in.APIVersion {
	case APIVersionV1, APIVersionV1beta1:
	case "":
		return ExecInfo{}, fmt.Errorf("%w: no apiVersion", ErrExecInfo)
	default:
		return ExecInfo{}, fmt.Errorf("%w: apiVersion %q is not supported (oauthctl speaks %s and %s; set exec.apiVersion in the kubeconfig to one of them)",
			ErrExecInfo, clip(in.APIVersion), APIVersionV1, APIVersionV1beta1)
	}
	return ExecInfo{APIVersion: in.APIVersion, Interactive: in.Spec.Interactive}, nil
}

// jsonErrMsg names a decoding error without quoting the input.
func jsonErrMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
	}
	return "unexpected end of input"
}

// clip shortens a value echoed in an error to one short line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

// Credential is what the plugin hands kubectl.
type Credential struct {
	// Token is the bearer token kubectl sends to the API server.
	Token string
	// Expiry is when kubectl must ask again; zero means that the token's
	// lifetime is unknown (kubectl then uses it until the server refuses it).
	Expiry time.Time
}

// execCredentialJSON is the output object. The field layout is the same in
// v1 and v1beta1.
type execCredentialJSON struct {
	Kind       string     `json:"kind"`
	APIVersion string     `json:"apiVersion"`
	Spec       specJSON   `json:"spec"`
	Status     statusJSON `json:"status"`
}

type specJSON struct {
	Interactive bool `json:"interactive"`
}

type statusJSON struct {
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	Token               string `json:"token"`
}

// MarshalExecCredential encodes c as the ExecCredential kubectl asked for in
// info, followed by a newline. expirationTimestamp is RFC 3339 in UTC with
// whole seconds, like Kubernetes' metav1.Time, rounded down so that kubectl
// never uses a token past its exp.
func MarshalExecCredential(info ExecInfo, c Credential) ([]byte, error) {
	if info.APIVersion != APIVersionV1 && info.APIVersion != APIVersionV1beta1 {
		return nil, fmt.Errorf("%w: apiVersion %q is not supported", ErrExecInfo, clip(info.APIVersion))
	}
	if c.Token == "" {
		return nil, errors.New("no token to hand out")
	}
	out := execCredentialJSON{
		Kind:       execCredentialKind,
		APIVersion: info.APIVersion,
		Spec:       specJSON{Interactive: info.Interactive},
		Status:     statusJSON{Token: c.Token},
	}
	if !c.Expiry.IsZero() {
		out.Status.ExpirationTimestamp = c.Expiry.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
