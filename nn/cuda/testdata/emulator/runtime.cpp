// The emulator's runtime: memory with guard bands, and a launcher that
// runs every block of a grid with one coroutine per thread (ucontext),
// switching at __syncthreads. Built by emulator_test.go together with
// kernels.cu and a generated table of argument-unpacking wrappers.
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

enum State { RUNNABLE, AT_BARRIER, DONE };

struct Thread {
    ucontext_t ctx;
    State state;
};

const size_t kStack = 128 * 1024;
const size_t kGuard = 64;
const unsigned char kGuardByte = 0xA5;

ucontext_t scheduler;
std::vector<Thread> threads;
std::vector<char*> stacks;
int current;
void (*entry)(void**);
void** entryArgs;
std::string lastError;
std::map<char*, size_t> blocks;  // user pointer -> size

void setThreadIdx(int t) {
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

void trampoline() {
    entry(entryArgs);
    threads[current].state = DONE;
}

int runBlock(int n) {
    while ((int)stacks.size() < n) stacks.push_back((char*)std::malloc(kStack));
    threads.resize(n);
    for (int t = 0; t < n; t++) {
        getcontext(&threads[t].ctx);
        threads[t].ctx.uc_stack.ss_sp = stacks[t];
        threads[t].ctx.uc_stack.ss_size = kStack;
        threads[t].ctx.uc_link = &scheduler;
        makecontext(&threads[t].ctx, trampoline, 0);
        threads[t].state = RUNNABLE;
    }
    for (;;) {
        for (int t = 0; t < n; t++) {
            if (threads[t].state != RUNNABLE) continue;
            current = t;
            setThreadIdx(t);
            swapcontext(&scheduler, &threads[t].ctx);
        }
        int done = 0, waiting = 0;
        for (int t = 0; t < n; t++) {
            if (threads[t].state == DONE) done++;
            if (threads[t].state == AT_BARRIER) waiting++;
        }
        if (done == n) return 0;
        if (done > 0) {
            lastError = "some threads of a block returned while others wait at __syncthreads";
            return -1;
        }
        for (int t = 0; t < n; t++) threads[t].state = RUNNABLE;
    }
}

bool guardsIntact(std::string* where) {
    for (auto& b : blocks) {
        unsigned char* p = (unsigned char*)b.first;
        for (size_t i = 0; i < kGuard; i++) {
            if (p[-1 - (long)i] != kGuardByte || p[b.second + i] != kGuardByte) {
                char buf[160];
                std::snprintf(buf, sizeof buf, "a kernel wrote outside a block of %zu bytes at %p (%s guard)", b.second,
                              (void*)p, p[-1 - (long)i] != kGuardByte ? "front" : "back");
                *where = buf;
                return false;
            }
        }
    }
    return true;
}

}  // namespace

extern "C" void emu_syncthreads() {
    threads[current].state = AT_BARRIER;
    swapcontext(&threads[current].ctx, &scheduler);
}

struct EmuKernel {
    const char* name;
    void (*fn)(void**);
};
extern const EmuKernel emu_kernels[];
extern const int emu_kernel_count;

extern "C" int emu_find(const char* name) {
    for (int i = 0; i < emu_kernel_count; i++)
        if (std::string(emu_kernels[i].name) == name) return i;
    return -1;
}

extern "C" int emu_launch(int k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, void** args) {
    if (k < 0 || k >= emu_kernel_count) {
        lastError = "no such kernel";
        return -1;
    }
    if (bx * by * bz == 0 || bx * by * bz > 1024 || gx * gy * gz == 0) {
        lastError = "invalid launch configuration";
        return -1;
    }
    entry = emu_kernels[k].fn;
    entryArgs = args;
    gridDim = {gx, gy, gz};
    blockDim = {bx, by, bz};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                blockIdx = {x, y, z};
                if (runBlock((int)(bx * by * bz)) != 0) return -1;
            }
    std::string where;
    if (!guardsIntact(&where)) {
        lastError = std::string(emu_kernels[k].name) + ": " + where;
        return -1;
    }
    return 0;
}

extern "C" const char* emu_last_error() { return lastError.c_str(); }

extern "C" void* emu_malloc(size_t n) {
    char* raw = (char*)std::malloc(n + 2 * kGuard);
    if (!raw) return nullptr;
    std::memset(raw, kGuardByte, kGuard);
    std::memset(raw + kGuard + n, kGuardByte, kGuard);
    // Garbage, not zeros: Alloc must zero what it hands out itself.
    std::memset(raw + kGuard, 0x7F, n);
    blocks[raw + kGuard] = n;
    return raw + kGuard;
}

extern "C" int emu_free(void* p) {
    auto it = blocks.find((char*)p);
    if (it == blocks.end()) return -1;
    blocks.erase(it);
    std::free((char*)p - kGuard);
    return 0;
}

extern "C" void emu_memcpy(void* dst, const void* src, size_t n) { std::memcpy(dst, src, n); }

extern "C" void emu_memset32(void* dst, unsigned v, size_t n) {
    unsigned* d = (unsigned*)dst;
    for (size_t i = 0; i < n; i++) d[i] = v;
}
