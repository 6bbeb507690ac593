/* cimaging_loader.h: how the trampolines of cimaging_loader.c find the imaging bridge (internal to CImaging). */
#ifndef CIMAGING_LOADER_H
#define CIMAGING_LOADER_H

/** The address of `name` in the bridge, cached in `*slot`; the bridge is loaded on the first call. A bridge
 *  that cannot be loaded ends the process with a message naming the file and the reason (exit status 70). */
void *ci_bridge_symbol(void **slot, const char *name);

#endif
