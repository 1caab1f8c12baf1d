// The default application of the simulated card: proprietary class 80 goes to the EchoApp
// test commands (echo_app.h), every other class to the ISO/IEC 7816-4 file system
// (file_app.h). Transports (T=0, T=1) are layered on top by T0Card / T1Card.
#pragma once

#include "sim/card/card_application.h"
#include "sim/card/echo_app.h"
#include "sim/card/file_app.h"

namespace ccidkit::sim {

class DemoCardApp final : public CardApplication {
public:
    Bytes process(ByteView command) override;
    void reset() override;

    FileSystemApp& files() { return files_; }
    const FileSystemApp& files() const { return files_; }

private:
    EchoApp echo_;
    FileSystemApp files_;
};

}  // namespace ccidkit::sim
