/* cimaging_bridge.h: the imaging bridge (libLumenImagingBridge.so) implements every function declared in
 * Sources/CImaging/include/cimaging.h over OpenCV, DCMTK, OpenJPEG and zlib; Swift never imports this target,
 * it reaches the bridge through CImaging's trampolines, which load it on first use. */
#ifndef CIMAGING_BRIDGE_H
#define CIMAGING_BRIDGE_H
#endif
