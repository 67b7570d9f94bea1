// pulumi-language-go for netboot: a minimal Go language host (why it exists: package host).
//
//   - Run: compiles the program (`go build` in the program folder, or takes the prebuilt `binary` runtime option)
//     and runs it with the engine's settings in PULUMI_* variables, as the upstream host does.
//   - GeneratePackage: `pulumi package gen-sdk --language go` through pkg/v3/codegen/go; a local SDK (`--local`,
//     `pulumi package add`) also gets a go.mod, so a program can point a `replace` at it.
//   - Link: `pulumi package add` requires the local SDK's module in the program's go.mod and replaces it with the
//     SDK's folder (`go mod edit`); `go mod tidy`, once the program imports it, fills go.sum.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
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
		files, err := gogen.GeneratePackage("the Pulumi SDK Generator", pkg, req.LocalDependencies)
		if err != nil || !req.Local {
			return files, err
		}
		module, err := localModule(req.Schema, pkg.Name)
		if err != nil {
			return nil, err
		}
		files["go.mod"] = []byte(fmt.Sprintf("module %s\n\ngo 1.21\n\nrequire github.com/pulumi/pulumi/sdk/v3 v%s\n", module, strings.TrimPrefix(version.Version, "v")))
		return files, nil
	})
}

// localModule is the module path of a local Go SDK: the schema's importBasePath without its last element when
// that is the package folder the generator writes into (".../sdk/go/netboot" -> ".../sdk/go"), as in the
// published SDK's own go.mod.
func localModule(rawSchema, name string) (string, error) {
	var spec struct {
		Language struct {
			Go struct {
				ImportBasePath string `json:"importBasePath"`
			} `json:"go"`
		} `json:"language"`
	}
	if err := json.Unmarshal([]byte(rawSchema), &spec); err != nil {
		return "", err
	}
	base := spec.Language.Go.ImportBasePath
	if base == "" {
		return "example.com/pulumi-" + name + "/sdk/go", nil
	}
	if path.Base(base) == name {
		return path.Dir(base), nil
	}
	return base, nil
}

func (h *goHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	root, pkgs, err := host.LinkedPackages(req)
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("could not find go on the PATH: install Go to link a Go SDK")
	}
	var instructions string
	for _, p := range pkgs {
		data, err := os.ReadFile(filepath.Join(p.Dir, "go.mod"))
		if err != nil {
			return nil, fmt.Errorf("link %s: the generated SDK has no go.mod (generate it with --local): %w", p.Name, err)
		}
		module := ""
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "module" {
				module = f[1]
			}
		}
		if module == "" {
			return nil, fmt.Errorf("link %s: %s names no module", p.Name, filepath.Join(p.Dir, "go.mod"))
		}
		rel := p.Rel
		if !filepath.IsAbs(rel) && !strings.HasPrefix(rel, ".") {
			rel = "./" + rel
		}
		edit := exec.CommandContext(ctx, goBin, "mod", "edit",
			"-require="+module+"@v0.0.0-00010101000000-000000000000", "-replace="+module+"="+rel)
		edit.Dir = root
		if out, err := edit.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("link %s: %s: %w\n%s", p.Name, edit.String(), err, out)
		}
		instructions += fmt.Sprintf("You can then import the SDK in your Go code with:\n\n  import \"%s/%s\"\n", module, p.Name)
	}
	// No `go mod tidy` here: it would drop the require again while the program does not import the SDK yet.
	instructions += "\nthen run `go mod tidy` to fill go.sum.\n"
	return &pulumirpc.LinkResponse{ImportInstructions: instructions}, nil
}
