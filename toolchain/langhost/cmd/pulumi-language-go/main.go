// pulumi-language-go for netboot: a minimal Go language host (why it exists: package host).
//
//   - Run: compiles the program (`go build` in the program folder, or takes the prebuilt `binary` runtime option)
//     and runs it with the engine's settings in PULUMI_* variables, as the upstream host does.
//   - GeneratePackage: `pulumi package gen-sdk --language go` through pkg/v3/codegen/go.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"netboot.local/langhost/host"
)

type goHost struct{ host.Base }

func main() {
	h := &goHost{}
	host.Main(h, &h.Base)
}

func (h *goHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	goBin, _ := exec.LookPath("go")
	return &pulumirpc.AboutResponse{Executable: goBin}, nil
}

func (h *goHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	p := host.ProgramOf(req)
	binary := p.Option("binary")
	if binary != "" && !filepath.IsAbs(binary) {
		binary = filepath.Join(p.Root, binary)
	}
	if binary == "" {
		goBin, err := exec.LookPath("go")
		if err != nil {
			return nil, errors.New("could not find go on the PATH: install Go to run Go programs")
		}
		tmp, err := os.MkdirTemp("", "pulumi-go-program-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		binary = filepath.Join(tmp, "program")
		build := exec.CommandContext(ctx, goBin, "build", "-o", binary, ".")
		build.Dir = p.Dir
		// The build's output goes to stderr: stdout is the program's, which the engine shows as its output.
		build.Stdout = os.Stderr
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("go build of the program in %s failed: %v", p.Dir, err)}, nil
		}
	}

	env, err := host.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	// The Go SDK reads its settings from the environment, not from flags.
	env = append(append(os.Environ(), env...),
		"PULUMI_MONITOR="+req.GetMonitorAddress(),
		"PULUMI_ENGINE="+h.Engine,
		"PULUMI_PROJECT="+req.GetProject(),
		"PULUMI_STACK="+req.GetStack(),
		"PULUMI_ORGANIZATION="+req.GetOrganization(),
		"PULUMI_ROOT_DIRECTORY="+p.Root,
		fmt.Sprintf("PULUMI_DRY_RUN=%v", req.GetDryRun()),
		fmt.Sprintf("PULUMI_PARALLEL=%d", req.GetParallel()),
	)
	cmd := exec.CommandContext(ctx, binary, req.GetArgs()...)
	cmd.Env = env
	return host.RunProgram(req, cmd, "Go"), nil
}

func (h *goHost) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	return host.GeneratePackage(req, func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
		return gogen.GeneratePackage("the Pulumi SDK Generator", pkg, req.LocalDependencies)
	})
}
