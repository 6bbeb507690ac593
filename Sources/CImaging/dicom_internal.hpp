// The DICOM handle shared by the DCMTK translation units (dicom.cpp, dicom_lut.cpp); never included from Swift.
#pragma once
#include "cimaging_internal.hpp"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

struct ci_dicom {
  DcmFileFormat file;
};
