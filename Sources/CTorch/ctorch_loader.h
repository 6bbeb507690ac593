/* ctorch_loader.h: how the trampolines of ctorch_loader.c find the libtorch bridge (internal to CTorch). */
#ifndef CTORCH_LOADER_H
#define CTORCH_LOADER_H

/** The address of `name` in the bridge, cached in `*slot`; the bridge is loaded on the first call. A bridge
 *  that cannot be loaded ends the process with a message naming the file and the reason (exit status 70). */
void *lm_bridge_symbol(void **slot, const char *name);

#endif
