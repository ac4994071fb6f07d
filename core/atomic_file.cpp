#include "core/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/errors.h"

namespace lpsim::core {

void write_file_atomic(const std::string& path, const std::string& content) {
  write_file_atomic(path, [&content](std::ostream& out) {
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  });
}

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw UserError(path, "", "cannot open for writing");
    write(out);
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw UserError(path, "", "write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw UserError(path, "", "cannot rename the temporary file into place");
  }
}

}  // namespace lpsim::core
