// Checkpoints of a hardware run, and resuming from one (pipeline_module.h). A checkpoint is
// the weights (an lpsim-checkpoint-v1 directory) plus the engine's whole training state and
// the task instance it was taken at; on resume the timing model re-runs without math up to
// that instance, then the state is loaded and training continues.

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "sim/hardware/pipeline_module.h"
#include "workloads/data/checkpoint.h"
#include "workloads/reference/params_io.h"

namespace lpsim::hardware {

void Pipeline::read_resume_point() {
  LPSIM_ASSERT(engine_ != nullptr, "resume needs the math");
  const data::Checkpoint ck = data::read_checkpoint(options_.resume_dir);
  const std::string manifest = options_.resume_dir + "/" + data::kCheckpointManifest;
  if (!ck.extra.is_object() || !ck.extra.contains("resume")) {
    throw core::DataError(manifest, "/extra/resume",
                          "not a resumable checkpoint (written by --save-weights?)");
  }
  const core::Json& resume = ck.extra.at("resume");
  if (resume.value("config_hash", "") != options_.config_hash) {
    throw core::DataError(
        manifest, "/extra/resume/config_hash",
        "the checkpoint was written by a different configuration; resume with the "
        "same config and --set arguments");
  }
  math_from_ = resume.at("task_instances").get<std::uint64_t>();
  resume_loaded_ = resume.at("loaded").get<std::int64_t>();
}

void Pipeline::resume_state() {
  const std::string path = options_.resume_dir + "/training_state.bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::UserError(path, "", "cannot open the training state");
  engine_->load_state(in, path);
  loaded_ = resume_loaded_;
}

void Pipeline::save_checkpoint(std::int64_t minibatches) {
  const std::string dir = options_.checkpoint_dir;
  const std::string tmp = dir + ".tmp";
  std::filesystem::remove_all(tmp);
  core::Json extra = {{"resume",
                       {{"task_instances", r_.task_instances},
                        {"minibatches", minibatches},
                        {"loaded", loaded_},
                        {"config_hash", options_.config_hash}}}};
  data::write_checkpoint(
      tmp, reference::to_named_tensors(job_.network, job_.units, engine_->parameters()), extra);
  // Streamed to the file: a state of gigabytes (a pipelined ResNet-18's activations in flight)
  // held in memory twice over (a string stream and its copy) once ran the machine out of it.
  core::write_file_atomic(tmp + "/training_state.bin",
                          [this](std::ostream& out) { engine_->save_state(out); });
  // Replace the previous checkpoint: a kill leaves either the old or the new one whole.
  std::filesystem::remove_all(dir + ".old");
  if (std::filesystem::exists(dir)) std::filesystem::rename(dir, dir + ".old");
  std::filesystem::rename(tmp, dir);
  std::filesystem::remove_all(dir + ".old");
}

}  // namespace lpsim::hardware
