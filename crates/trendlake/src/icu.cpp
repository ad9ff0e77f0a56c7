// DuckDB's ICU extension (compiled by src/build.rs from DuckDB's own source release) registered
// as a statically linked extension of every database this process opens: its functions, casts
// and the TimeZone setting are there from the start, with nothing to install or load.
#include "duckdb.hpp"
#include "duckdb_static_extension.h"

extern "C" void icu_duckdb_cpp_init(duckdb::ExtensionLoader &loader);

extern "C" int32_t trendlake_icu_describe(duckdb_extension_descriptor *descriptor) {
	descriptor->version = 1;
	descriptor->name = "icu";
	descriptor->extension_version = "";
	descriptor->api_version = "v2.0.0";
	descriptor->entry_cpp = (void (*)(void))icu_duckdb_cpp_init;
	return 0;
}

namespace {
// At load, as libduckdb-sys registers the engine's own extensions: before main, so before any
// database is opened (one opened earlier would not get it).
struct RegisterIcu {
	RegisterIcu() {
		duckdb_register_static_extension(trendlake_icu_describe);
	}
} register_icu;
} // namespace
