// pulumi-language-python for netboot: a minimal Python language host (why it exists: package host).
//
//   - Run: starts `python -u pulumi-language-python-exec --monitor ... PROGRAM` as the upstream host does. The exec
//     script ships in sdk/v3 (python/cmd/pulumi-language-python-exec); scripts/toolchain.sh copies it beside this
//     binary. The Pulumi Python SDK itself comes from PyPI (`pip install pulumi==3.248.0`). The interpreter is
//     `<root>/<virtualenv>/bin/python` when Pulumi.yaml names a `virtualenv` option, else `python3` on PATH.
//   - GeneratePackage: `pulumi package gen-sdk --language python` through pkg/v3/codegen/python.
//   - Link: `pulumi package add` puts the generated SDK's folder into requirements.txt, where pip installs it
//     from (`pip install -r requirements.txt` in the project's virtualenv, the project's own step).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"netboot.local/langhost/host"
)

type pythonHost struct{ host.Base }

func main() {
	h := &pythonHost{}
	host.Main(h, &h.Base)
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	py, _ := exec.LookPath("python3")
	return &pulumirpc.AboutResponse{Executable: py}, nil
}

// execScript finds pulumi-language-python-exec: $PULUMI_LANGUAGE_PYTHON_EXEC, beside this binary, or on PATH.
func execScript() string {
	if p := os.Getenv("PULUMI_LANGUAGE_PYTHON_EXEC"); p != "" {
		return p
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, _ := exec.LookPath("pulumi-language-python-exec")
	return p
}

func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	p := host.ProgramOf(req)
	python := ""
	if v := p.Option("virtualenv"); v != "" {
		if !filepath.IsAbs(v) {
			v = filepath.Join(p.Root, v)
		}
		python = filepath.Join(v, "bin", "python")
		if _, err := os.Stat(python); err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("the virtualenv %s does not exist: run `python3 -m venv %s && %s/bin/pip install -r requirements.txt`", v, v, v)}, nil
		}
	}
	if python == "" {
		py, err := exec.LookPath("python3")
		if err != nil {
			return nil, errors.New("could not find python3 on the PATH")
		}
		python = py
	}
	script := execScript()
	if script == "" {
		return &pulumirpc.RunResponse{Error: "pulumi-language-python-exec not found beside the language host: rerun scripts/toolchain.sh"}, nil
	}
	// The exec script's flags are spelled with underscores and always carry dry_run and parallel.
	args := host.Flags{"-u", script}
	args.Add("monitor", req.GetMonitorAddress())
	args.Add("engine", h.Engine)
	args.Add("organization", req.GetOrganization())
	args.Add("project", req.GetProject())
	args.Add("stack", req.GetStack())
	args.Add("pwd", req.GetPwd())
	args.Add("root_directory", p.Root)
	args.Add("dry_run", fmt.Sprint(req.GetDryRun()))
	args.Add("parallel", fmt.Sprint(req.GetParallel()))
	args = append(args, p.Entry)
	args = append(args, req.GetArgs()...)

	env, err := host.ConfigEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Env = append(append(os.Environ(), env...), "PYTHONUNBUFFERED=1")
	return host.RunProgram(req, cmd, "Python"), nil
}

func (h *pythonHost) GeneratePackage(ctx context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	return host.GeneratePackage(req, func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return python.GeneratePackage("the Pulumi SDK Generator", pkg, req.ExtraFiles, loader)
	})
}

func (h *pythonHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	root, pkgs, err := host.LinkedPackages(req)
	if err != nil {
		return nil, err
	}
	reqs := filepath.Join(root, "requirements.txt")
	data, err := os.ReadFile(reqs)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	var instructions string
	for _, p := range pkgs {
		// A path pip reads as a local project, not as a requirement name: "./sdks/netboot".
		entry := p.Rel
		if !filepath.IsAbs(entry) && !strings.HasPrefix(entry, ".") {
			entry = "./" + entry
		}
		present := false
		for _, l := range lines {
			if strings.TrimSpace(l) == entry {
				present = true
			}
		}
		if !present {
			lines = append(lines, entry)
		}
		module := "pulumi_" + strings.ReplaceAll(p.Name, "-", "_")
		instructions += fmt.Sprintf("Install it into the project's virtualenv with `pip install -r requirements.txt`, "+
			"then import the SDK in your Python code with:\n\n  import %s as %s\n", module, strings.ReplaceAll(p.Name, "-", "_"))
	}
	tmp := reqs + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, reqs); err != nil {
		return nil, err
	}
	return &pulumirpc.LinkResponse{ImportInstructions: instructions}, nil
}
