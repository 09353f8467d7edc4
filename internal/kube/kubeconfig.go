package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/oauthctl/oauthctl/internal/safefile"
)

// InteractiveMode values of a kubeconfig exec entry.
const (
	// InteractiveNever: kubectl never gives the plugin the terminal, and
	// spec.interactive is always false.
	InteractiveNever = "Never"
	// InteractiveIfAvailable: kubectl gives the plugin stdin when it is a
	// terminal, and says so with spec.interactive.
	InteractiveIfAvailable = "IfAvailable"
)

// maxKubeconfig bounds the kubeconfig read into memory.
const maxKubeconfig = 16 << 20

// ErrKubeconfig is a kubeconfig file that cannot be edited safely.
var ErrKubeconfig = errors.New("cannot edit the kubeconfig")

// ExecUser is the users[] entry that makes kubectl run oauthctl.
type ExecUser struct {
	// Name is users[].name.
	Name string
	// APIVersion is the ExecCredential version kubectl asks for.
	APIVersion string
	// Command is the plugin's absolute path; Args its arguments.
	Command string
	Args    []string
	// InteractiveMode is InteractiveNever or InteractiveIfAvailable.
	InteractiveMode string
	// InstallHint is what kubectl shows when Command is not found.
	InstallHint string
}

// execYAML is the exec stanza as kubectl itself writes it (`kubectl config
// set-credentials --exec-command`): keys sorted, env null, so that kubectl
// rewriting the file later changes nothing in it.
type execYAML struct {
	APIVersion         string     `yaml:"apiVersion"`
	Args               []string   `yaml:"args"`
	Command            string     `yaml:"command"`
	Env                *yaml.Node `yaml:"env"`
	InstallHint        string     `yaml:"installHint,omitempty"`
	InteractiveMode    string     `yaml:"interactiveMode,omitempty"`
	ProvideClusterInfo bool       `yaml:"provideClusterInfo"`
}

type userYAML struct {
	Exec execYAML `yaml:"exec"`
}

// Change says what SetExecUser did.
type Change int

// The changes SetExecUser reports.
const (
	Unchanged Change = iota // the entry was already as wanted
	Added                   // a new users[] entry
	Updated                 // an existing entry of that name was replaced
)

// SetExecUser returns the kubeconfig data with u as the users[] entry named
// u.Name, added or replacing that entry's user (its other keys are kept),
// and everything else in the file (clusters, contexts, other users,
// comments, key order) as it was. Empty data gives a new kubeconfig. The
// output is indented like kubectl's own (two spaces, sequences not
// indented), so a file kubectl wrote changes only where the entry is.
// Steps:
//  1. decode one YAML document as a node tree (a mapping, or nothing);
//  2. find or create users, then the entry named u.Name;
//  3. compare its user with the wanted one; equal means Unchanged;
//  4. otherwise set it and encode the tree.
func SetExecUser(data []byte, u ExecUser) ([]byte, Change, error) {
	if err := u.validate(); err != nil {
		return nil, Unchanged, err
	}
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, Unchanged, err
	}
	root := doc.Content[0]
	want, err := u.node()
	if err != nil {
		return nil, Unchanged, err
	}
	users := mappingValue(root, "users")
	switch {
	case users == nil:
		users = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, scalar("users"), users)
	case users.Kind == yaml.ScalarNode && users.Tag == "!!null":
		*users = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", HeadComment: users.HeadComment, LineComment: users.LineComment}
	case users.Kind != yaml.SequenceNode:
		return nil, Unchanged, fmt.Errorf("%w: users is not a list (line %d)", ErrKubeconfig, users.Line)
	}
	users.Style &^= yaml.FlowStyle // "users: []" becomes a block list

	change := Added
	entry := findNamed(users, u.Name)
	if entry != nil {
		cur := mappingValue(entry, "user")
		if cur != nil && sameValue(cur, want) {
			return data, Unchanged, nil
		}
		if cur != nil {
			want.HeadComment, want.LineComment, want.FootComment = cur.HeadComment, cur.LineComment, cur.FootComment
			*cur = *want
		} else {
			entry.Content = append(entry.Content, scalar("user"), want)
		}
		change = Updated
	} else {
		users.Content = append(users.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			scalar("name"), scalar(u.Name),
			scalar("user"), want,
		}})
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(doc); err != nil {
		return nil, Unchanged, fmt.Errorf("encoding the kubeconfig: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, Unchanged, fmt.Errorf("encoding the kubeconfig: %w", err)
	}
	return buf.Bytes(), change, nil
}

func (u ExecUser) validate() error {
	switch {
	case strings.TrimSpace(u.Name) == "":
		return errors.New("the kubeconfig user name is empty")
	case u.APIVersion != APIVersionV1 && u.APIVersion != APIVersionV1beta1:
		return fmt.Errorf("exec apiVersion %q is not supported", u.APIVersion)
	case !filepath.IsAbs(u.Command):
		return fmt.Errorf("the plugin command %q is not an absolute path", u.Command)
	case u.InteractiveMode != InteractiveNever && u.InteractiveMode != InteractiveIfAvailable:
		return fmt.Errorf("interactiveMode %q is not supported", u.InteractiveMode)
	}
	return nil
}

// node is the wanted user: {exec: {...}} as a YAML node.
func (u ExecUser) node() (*yaml.Node, error) {
	var n yaml.Node
	err := n.Encode(userYAML{Exec: execYAML{
		APIVersion:      u.APIVersion,
		Command:         u.Command,
		Args:            u.Args,
		Env:             &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"},
		InstallHint:     u.InstallHint,
		InteractiveMode: u.InteractiveMode,
	}})
	return &n, err
}

// decodeDoc decodes data's only YAML document, whose one child is then the
// top-level mapping: a new one, with kubectl's header fields, for a file
// that is empty or holds only comments (which are kept).
func decodeDoc(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		// Only comments, or nothing: the decoder drops the comments.
		err, doc = nil, yaml.Node{Kind: yaml.DocumentNode, HeadComment: strings.TrimSpace(string(data))}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not valid YAML: %s", ErrKubeconfig, yamlErrMsg(err))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: it holds more than one YAML document", ErrKubeconfig)
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			scalar("apiVersion"), scalar("v1"),
			scalar("kind"), scalar("Config"),
			scalar("preferences"), {Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle},
		}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the top level is not a YAML mapping", ErrKubeconfig)
	}
	if k := mappingValue(root, "kind"); k != nil && k.Value != "Config" {
		return nil, fmt.Errorf("%w: kind is %q, not Config", ErrKubeconfig, clip(k.Value))
	}
	return &doc, nil
}

// yamlErrMsg is the parser's message without quoting the file.
func yamlErrMsg(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return clip(msg)
}

func scalar(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// mappingValue returns the value of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// findNamed returns the first mapping in seq whose name is name.
func findNamed(seq *yaml.Node, name string) *yaml.Node {
	for _, item := range seq.Content {
		if n := mappingValue(item, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Value == name {
			return item
		}
	}
	return nil
}

// sameValue reports whether two nodes hold the same data, whatever their
// style or comments.
func sameValue(a, b *yaml.Node) bool {
	var va, vb any
	if a.Decode(&va) != nil || b.Decode(&vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// HasUser reports whether the kubeconfig data has a users[] entry named name.
func HasUser(data []byte, name string) bool {
	doc, err := decodeDoc(data)
	if err != nil {
		return false
	}
	users := mappingValue(doc.Content[0], "users")
	return users != nil && users.Kind == yaml.SequenceNode && findNamed(users, name) != nil
}

// CurrentContext returns the kubeconfig's current-context, "" when it has
// none (or the data is not a kubeconfig).
func CurrentContext(data []byte) string {
	doc, err := decodeDoc(data)
	if err != nil {
		return ""
	}
	if c := mappingValue(doc.Content[0], "current-context"); c != nil && c.Kind == yaml.ScalarNode {
		return c.Value
	}
	return ""
}

// Path picks the kubeconfig file to edit the way kubectl does when it
// writes a user: with $KUBECONFIG naming several files, the one that already
// defines the user name, else the first that exists, else the last; with
// one file, that file; without $KUBECONFIG, ~/.kube/config.
func Path(getenv func(string) string, name string) (string, error) {
	var files []string
	for _, p := range filepath.SplitList(getenv("KUBECONFIG")) {
		if p != "" {
			files = append(files, p)
		}
	}
	switch len(files) {
	case 0:
		home := getenv("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("finding the home directory for ~/.kube/config: %w", err)
			}
			home = h
		}
		return filepath.Join(home, ".kube", "config"), nil
	case 1:
		return files[0], nil
	}
	for _, f := range files {
		if data, err := readBounded(f); err == nil && HasUser(data, name) {
			return f, nil
		}
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			return f, nil
		}
	}
	return files[len(files)-1], nil
}

// ReadFile reads a kubeconfig; a missing file reads as empty.
func ReadFile(path string) ([]byte, error) {
	data, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKubeconfig+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKubeconfig {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrKubeconfig, path, maxKubeconfig>>20)
	}
	return data, nil
}

// WriteFile replaces the kubeconfig at path with data atomically: a
// temporary file in the same directory, mode 0600 (it may hold client keys
// and tokens), synced, then renamed over the target. A symlinked kubeconfig
// is written through to its target so that the link survives. Missing
// parent directories are created with mode 0700, like kubectl's ~/.kube.
func WriteFile(path string, data []byte) error {
	return safefile.WriteFile(path, data, true)
}
