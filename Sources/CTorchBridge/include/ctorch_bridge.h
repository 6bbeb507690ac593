/* ctorch_bridge.h: the libtorch bridge (libLumenTorchBridge.so) implements every function declared in
 * Sources/CTorch/include/ctorch.h; Swift never imports this target, it reaches the bridge through CTorch's
 * trampolines, which load it on first use. */
#ifndef CTORCH_BRIDGE_H
#define CTORCH_BRIDGE_H
#endif
