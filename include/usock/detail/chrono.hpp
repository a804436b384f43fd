#pragma once
/// \file
/// The part of `<chrono>` usock uses: durations, `duration_cast`/`ceil`, `time_point` and `steady_clock`.
///
/// In C++20, libstdc++'s `<chrono>` also brings the calendar, time zones and their stream I/O (`<sstream>`,
/// `<locale>`), which is most of the cost of compiling a file that includes usock. With libstdc++, the clocks
/// and durations alone are in `<bits/chrono.h>`; elsewhere this is plain `<chrono>`. Code that wants the rest of
/// `<chrono>` includes it itself, as it would anyway.

#include <version>  // says which standard library this is (defines __GLIBCXX__ for libstdc++)

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
