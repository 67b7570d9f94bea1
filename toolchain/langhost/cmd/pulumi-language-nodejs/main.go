// pulumi-language-nodejs for netboot: a minimal Node.js language host (why it exists: package host).
//
//   - Run: starts `node <project>/node_modules/@pulumi/pulumi/cmd/run` with the engine's arguments, exactly as
//     the upstream host does, so Pulumi.yaml projects with `runtime: nodejs` work (TypeScript through ts-node).
//   - GeneratePackage: `pulumi package gen-sdk --language nodejs` through pkg/v3/codegen/nodejs.
//   - Link and InstallDependencies: `pulumi package add` (and `pulumi install`) through the SDK's own package
//     manager support (sdk/v3/nodejs/npm: npm, yarn, pnpm or bun, whichever the project's lock file names), as
//     the upstream host does: the generated SDK becomes a `file:` dependency in package.json, then is installed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"netboot.local/langhost/host"
)

type nodejsHost struct{ host.Base }

func main() {
	h := &nodejsHost{}
	host.Main(h, &h.Base)
}

func (h *nodejsHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, _ := exec.LookPath("node")
	return &pulumirpc.AboutResponse{Executable: node}, nil
}

func (h *nodejsHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("could not find node on the PATH: install Node.js 20")
	}
	p := host.ProgramOf(req)
	runPath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runPath == "" {
		runPath = findRun(p.Dir)
	}
	if runPath == "" {
		return &pulumirpc.RunResponse{Error: "the Pulumi SDK is not installed: run `npm ci` in " + p.Root}, nil
	}
	args := host.Flags{runPath}
	args.Add("monitor", req.GetMonitorAddress())
	args.Add("engine", h.Engine)
	args.Add("organization", req.GetOrganization())
	args.Add("project", req.GetProject())
	args.Add("stack", req.GetStack())
	args.Add("pwd", req.GetPwd())
	args.Add("root-directory", p.Root)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() != 0 {
		args.Add("parallel", fmt.Sprint(req.GetParallel()))
	}
	args = append(args, p.Entry)
	args = append(args, req.GetArgs()...)

	env, err := host.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	env = append(os.Environ(), env...)
	typescript := "true"
	if v, ok := p.Options["typescript"].(bool); ok && !v {
		typescript = "false"
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+typescript)
	if v := p.Option("tsconfig"); v != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v)
	}
	if v := p.Option("nodeargs"); v != "" {
		args = append(host.Flags{v}, args...)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = env
	return host.RunProgram(req, cmd, "Node.js"), nil
}

// findRun looks for @pulumi/pulumi's `cmd/run` from the program folder upwards, as Node's module resolution does.
func findRun(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}

func (h *nodejsHost) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	return host.GeneratePackage(req, func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return nodejs.GeneratePackage("the Pulumi SDK Generator", pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	})
}

// Link adds each generated SDK to the project's package.json as a `file:` dependency under the npm name its own
// package.json gives (a schema's nodejs packageName, e.g. @netboot/netboot, not the Pulumi package name).
func (h *nodejsHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	root, pkgs, err := host.LinkedPackages(req)
	if err != nil {
		return nil, err
	}
	pm, err := npm.ResolvePackageManager(npm.AutoPackageManager, root)
	if err != nil {
		return nil, err
	}
	var instructions string
	for _, p := range pkgs {
		data, err := os.ReadFile(filepath.Join(p.Dir, "package.json"))
		if err != nil {
			return nil, fmt.Errorf("link %s: the generated SDK has no package.json: %w", p.Name, err)
		}
		var manifest struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(data, &manifest); err != nil || manifest.Name == "" {
			return nil, fmt.Errorf("link %s: %s names no package", p.Name, filepath.Join(p.Dir, "package.json"))
		}
		if err := pm.Link(ctx, root, manifest.Name, p.Rel); err != nil {
			return nil, err
		}
		instructions += fmt.Sprintf("You can then import the SDK in your TypeScript code with:\n\n  import * as %s from \"%s\";\n",
			identifier(p.Name), manifest.Name)
	}
	return &pulumirpc.LinkResponse{ImportInstructions: instructions}, nil
}

// identifier is a package name as a JavaScript identifier: "netboot" stays, "my-pkg" becomes "my_pkg".
func identifier(name string) string {
	out := []rune{}
	for i, r := range name {
		ok := r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			r = '_'
		}
		out = append(out, r)
	}
	return string(out)
}

// InstallDependencies runs the project's package manager (`npm install`, or yarn, pnpm, bun by lock file) in the
// project root, streaming its output to the engine.
func (h *nodejsHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, srv pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	root := req.GetInfo().GetRootDirectory()
	if root == "" {
		root = req.GetDirectory() //nolint:staticcheck // engines before ProgramInfo send only Directory
	}
	if root == "" {
		return errors.New("install: the request names no project folder")
	}
	_, err := npm.Install(srv.Context(), npm.AutoPackageManager, root, false,
		host.StreamWriter{Srv: srv}, host.StreamWriter{Srv: srv, Stderr: true})
	return err
}
