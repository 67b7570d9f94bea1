// A PXE server and a node group written into a local target folder (config `root`, default ./target).
package main

import (
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/netboot/pulumi-netboot/sdk/go/netboot"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		root := config.New(ctx, "").Get("root")
		if root == "" {
			root = "./target"
		}
		root, err := filepath.Abs(root)
		if err != nil {
			return err
		}
		pxe, err := netboot.NewPxeServer(ctx, "pxe", &netboot.PxeServerArgs{
			Host:      &netboot.HostArgs{Root: pulumi.String(root)},
			Interface: pulumi.String("nbg0"),
			Subnet:    pulumi.String("10.78.0.0/24"),
			ServerIp:  pulumi.String("10.78.0.1"),
			DhcpMode:  netboot.DhcpModeAuthoritative,
			DynamicRange: &netboot.DynamicRangeArgs{
				Start: pulumi.String("10.78.0.200"),
				End:   pulumi.String("10.78.0.250"),
			},
		})
		if err != nil {
			return err
		}
		compute, err := netboot.NewNodeGroup(ctx, "compute", &netboot.NodeGroupArgs{
			Server: pxe.Info.ToPxeServerInfoOutput(),
			Boot: &netboot.BootTargetArgs{
				KernelUrl: pulumi.Sprintf("%simages/vmlinuz", pxe.HttpBaseUrl),
				InitrdUrl: pulumi.Sprintf("%simages/initrd.img", pxe.HttpBaseUrl),
				Args:      pulumi.String("quiet"),
			},
			Nodes: netboot.NodeArray{
				&netboot.NodeArgs{Name: pulumi.String("c01"), Macs: pulumi.StringArray{pulumi.String("52:54:00:78:00:01")}, Ip: pulumi.String("10.78.0.11")},
				&netboot.NodeArgs{Name: pulumi.String("c02"), Macs: pulumi.StringArray{pulumi.String("52:54:00:78:00:02")}, Ip: pulumi.String("10.78.0.12"), KernelArgs: pulumi.String("console=ttyS0")},
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("nodes", compute.NodeTable)
		ctx.Export("dnsmasq", pxe.DnsmasqConfig)
		return nil
	})
}
