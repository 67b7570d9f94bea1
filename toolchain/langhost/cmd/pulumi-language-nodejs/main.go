// pulumi-language-nodejs for netboot: a minimal Node.js language host (why it exists: package host).
//
//   - Run: starts `node <project>/node_modules/@pulumi/pulumi/cmd/run` with the engine's arguments, exactly as
//     the upstream host does, so Pulumi.yaml projects with `runtime: nodejs` work (TypeScript through ts-node).
//   - GeneratePackage: `pulumi package gen-sdk --language nodejs` through pkg/v3/codegen/nodejs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
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
