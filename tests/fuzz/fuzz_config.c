/*
 * fuzz_config.c - the YAML config loader (config_load_string, config/config.h):
 * any text gives a config that is then freed, or NULL with a message. Relative
 * paths (team files, templates, secret files) resolve in a directory that does
 * not exist, so the fuzzer cannot make the loader read the machine's files
 * by a relative name; absolute paths it may still name, which is harmless.
 */
#include "tests/fuzz/fuzz.h"

#include "config/config.h"
#include "core/error.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    char *s = fuzz_strndup(data, size);
    struct error err = {{0}};
    struct config *cfg;

    if (!quiet) {
        log_init(LOG_ERROR, LOG_FORMAT_LOGFMT);
        quiet = 1;
    }
    cfg = config_load_string(s, "fuzz.yml", "/nonexistent-amrouter-fuzz", &err);
    if (cfg == NULL)
        FUZZ_CHECK(err.msg[0] != '\0');
    config_free(cfg);
    free(s);
    return 0;
}
