// Package host is what netboot's three language hosts (cmd/pulumi-language-{nodejs,python,go}) share: serving the
// LanguageRuntime gRPC service, the engine handshake, the methods netboot answers with nothing, the program's
// folders and configuration, running the program and reading its exit, and writing a generated SDK.
//
// Why the hosts exist at all: Pulumi's own language hosts are Go modules without tags, which the Go module proxy
// reachable from our machines refuses ("403 This module version is not available"); the engine (pkg/v3) and the
// SDK (sdk/v3) are served, so the hosts are built from those. docs/toolchain.md has the whole story.
//
// What each host adds is its Run (how the language starts a program) and its code generator.
package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Base implements the LanguageRuntime methods that are the same for every language. A host embeds it and adds
// Run, GeneratePackage and About.
//
//   - GetRequiredPlugins/Packages return nothing: netboot names its plugin in Pulumi.yaml (plugins.providers) or
//     on PATH, so the engine never downloads one.
//   - InstallDependencies is a no-op here: the virtualenv and `go mod download` are the project's own steps. The
//     Node.js host overrides it with the project's package manager, which `pulumi package add` relies on.
type Base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	// Engine is the engine's gRPC address: the first non-flag argument, replaced by the handshake's when it has one.
	Engine string
}

// Main serves h (which embeds b) on a free port, prints the port on stdout (how the engine finds a language host)
// until the engine stops it; a server that fails exits 1.
func Main(h pulumirpc.LanguageRuntimeServer, b *Base) {
	for _, a := range os.Args[1:] {
		if len(a) > 0 && a[0] != '-' {
			b.Engine = a
			break
		}
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start language host: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	go exitWhenEngineGone()
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "language host stopped: %v\n", err)
		os.Exit(1)
	}
}

// exitWhenEngineGone ends this host, and the program it runs, when the engine that started it is gone. The
// engine is the parent, so a new parent pid (init or a subreaper adopted us) means it died without stopping us
// (SIGKILL, OOM), and nobody else will. The engine starts plugins in a process group of their own, which the
// program shares: the group is signalled, but only when this host leads it, never a group it merely joined.
func exitWhenEngineGone() {
	parent := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() == parent {
			continue
		}
		if pg := syscall.Getpgrp(); pg == os.Getpid() {
			_ = syscall.Kill(-pg, syscall.SIGTERM)
		}
		os.Exit(1)
	}
}

func (b *Base) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.EngineAddress != "" {
		b.Engine = req.EngineAddress
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (b *Base) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (b *Base) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (b *Base) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (b *Base) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, srv pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	return nil
}

func (b *Base) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

// Program is where a RunRequest's program lives, read once so every host resolves it the same way.
type Program struct {
	Dir     string         // the program folder (ProgramDirectory, else the working directory)
	Root    string         // the project root, where Pulumi.yaml is (RootDirectory, else the working directory)
	Entry   string         // what to run: Dir/EntryPoint, else the request's Program, else "."
	Options map[string]any // Pulumi.yaml's runtime options (nil when there are none)
}

// ProgramOf reads the program's folders, entry point and runtime options from req.
func ProgramOf(req *pulumirpc.RunRequest) Program {
	p := Program{Dir: req.GetPwd(), Root: req.GetPwd(), Entry: "."}
	info := req.GetInfo()
	if info != nil {
		if info.ProgramDirectory != "" {
			p.Dir = info.ProgramDirectory
		}
		if info.RootDirectory != "" {
			p.Root = info.RootDirectory
		}
		if info.Options != nil {
			p.Options = info.Options.AsMap()
		}
	}
	if info != nil && info.EntryPoint != "" {
		p.Entry = filepath.Join(p.Dir, info.EntryPoint)
	} else if req.GetProgram() != "" {
		p.Entry = req.GetProgram()
	}
	return p
}

// Option is the runtime option name as a string, "" when it is missing or not a string.
func (p Program) Option(name string) string {
	v, _ := p.Options[name].(string)
	return v
}

// ConfigEnv is the stack configuration in the two variables every Pulumi language SDK reads it from.
func ConfigEnv(req *pulumirpc.RunRequest) ([]string, error) {
	cfg, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	return []string{"PULUMI_CONFIG=" + string(cfg), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeys)}, nil
}

// Flags is a program's argument list; Add skips empty values, as the upstream hosts do.
type Flags []string

func (f *Flags) Add(name, value string) {
	if value != "" {
		*f = append(*f, "--"+name, value)
	}
}

// RunProgram runs cmd in the request's working directory with the host's own stdout and stderr (the engine
// shows them) and turns its exit into the RunResponse. Exit code 32 means the program has already reported its
// error to the engine, so the engine is told to bail rather than print a second error. `language` names the
// program in the error when it could not start ("Node.js", "Python", "Go").
func RunProgram(req *pulumirpc.RunRequest, cmd *exec.Cmd, language string) *pulumirpc.RunResponse {
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok {
			if status.ExitStatus() == 32 {
				return &pulumirpc.RunResponse{Bail: true}
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", status.ExitStatus())}
		}
	}
	return &pulumirpc.RunResponse{Error: "could not run the " + language + " program: " + err.Error()}
}

// Generator is one language's SDK code generator: the bound package in, file name to contents out.
type Generator func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error)

// GeneratePackage binds the request's schema through the engine's loader, runs gen and writes its files under
// req.Directory (`pulumi package gen-sdk`). Schema errors come back as the engine's diagnostics.
func GeneratePackage(req *pulumirpc.GeneratePackageRequest, gen Generator) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.Schema), &spec); err != nil {
		return nil, err
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, diags
	}
	files, err := gen(pkg, loader)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.Directory, name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{}, nil
}

// Linked is one package of a LinkRequest (`pulumi package add`): the SDK the engine generated for the program.
type Linked struct {
	Name string // the Pulumi package name ("netboot")
	Rel  string // its folder as the engine gave it, relative to Root (what goes into the project's files)
	Dir  string // the same folder, absolute
}

// LinkedPackages reads the project root and the packages of a LinkRequest. The engine gives each path relative
// to the project root; an absolute path is kept as it is.
func LinkedPackages(req *pulumirpc.LinkRequest) (root string, pkgs []Linked, err error) {
	info := req.GetInfo()
	if info == nil || info.RootDirectory == "" {
		return "", nil, errors.New("link: the request names no project root")
	}
	root = info.RootDirectory
	for _, p := range req.GetPackages() {
		if p.GetPath() == "" {
			return "", nil, fmt.Errorf("link: package %q has no path", p.GetPackage().GetName())
		}
		dir := p.GetPath()
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
		if _, err := os.Stat(dir); err != nil {
			return "", nil, fmt.Errorf("link: package %q: %w", p.GetPackage().GetName(), err)
		}
		pkgs = append(pkgs, Linked{Name: p.GetPackage().GetName(), Rel: p.GetPath(), Dir: dir})
	}
	return root, pkgs, nil
}

// StreamWriter sends what is written to it as one stream of an InstallDependencies response, so `pulumi install`
// shows the package manager's output as it comes.
type StreamWriter struct {
	Srv    pulumirpc.LanguageRuntime_InstallDependenciesServer
	Stderr bool
}

func (w StreamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...)
	resp := &pulumirpc.InstallDependenciesResponse{Stdout: b}
	if w.Stderr {
		resp = &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}
	if err := w.Srv.Send(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}
