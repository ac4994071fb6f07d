#include "workloads/data/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"

namespace lpsim::data {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err,
                       const std::string& tmp) {
  if (!tmp.empty()) ::unlink(tmp.c_str());
  throw core::DataError(path, "", "cannot write the file: " + what + ": " + std::strerror(err));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp-" + std::to_string(static_cast<long>(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    fail(path, "cannot create " + tmp, err, "");
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ::ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail(path, "write to " + tmp, err, tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, "fsync of " + tmp, err, tmp);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    fail(path, "close of " + tmp, err, tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    fail(path, "rename of " + tmp, err, tmp);
  }
}

std::ifstream open_for_reading(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw core::DataError(path, "",
                          std::string("cannot open the file for reading: ") +
                              (err == 0 ? "unknown error" : std::strerror(err)));
  }
  return in;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace lpsim::data
