"""A PXE server and a node group written into a local target folder (config `root`, default ./target)."""
import os

import pulumi
import pulumi_netboot as netboot

config = pulumi.Config()
root = os.path.abspath(config.get("root") or "./target")

pxe = netboot.PxeServer(
    "pxe",
    host=netboot.HostArgs(root=root),
    interface="nbp0",
    subnet="10.77.0.0/24",
    server_ip="10.77.0.1",
    dhcp_mode=netboot.DhcpMode.AUTHORITATIVE,
    dynamic_range=netboot.DynamicRangeArgs(start="10.77.0.200", end="10.77.0.250"),
)

compute = netboot.NodeGroup(
    "compute",
    server=pxe.info,
    boot=netboot.BootTargetArgs(
        kernel_url=pxe.http_base_url.apply(lambda base: f"{base}images/vmlinuz"),
        initrd_url=pxe.http_base_url.apply(lambda base: f"{base}images/initrd.img"),
        args="quiet",
    ),
    nodes=[
        netboot.NodeArgs(name="c01", macs=["52:54:00:77:00:01"], ip="10.77.0.11"),
        netboot.NodeArgs(name="c02", macs=["52:54:00:77:00:02"], ip="10.77.0.12", kernel_args="console=ttyS0"),
    ],
)

pulumi.export("nodes", compute.node_table)
pulumi.export("dnsmasq", pxe.dnsmasq_config)
