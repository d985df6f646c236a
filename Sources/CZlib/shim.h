// zlib as packaged by Debian (zlib1g-dev): gzip decompression of IDX files.
#include <zlib.h>
