// The DICOM handle shared by dicom.cpp (parsing, pixels, writing), dicom_elements.cpp (element access) and
// dicom_lut.cpp (lookup tables); never included from Swift.
#pragma once
#include "cimaging_internal.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

struct ci_dicom {
  DcmFileFormat file;
};
