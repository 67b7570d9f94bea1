// Diskless clusters as code: PXE servers, GlusterFS volumes, boot images and node groups.
package netboot
