# The node-gyp build of the CPU backend, for machines with no CMake and no matching prebuilt
# binary. It reads the same source list as CMakeLists.txt (native/sources.txt).
{
  "targets": [
    {
      "target_name": "convnet",
      "sources": [
        "<!@(node -e \"require('fs').readFileSync('native/sources.txt','utf8').split(/\\r?\\n/).filter(l=>l&&!l.startsWith('#')).forEach(l=>console.log(l))\")"
      ],
      "include_dirs": [
        "native",
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "cflags": ["-O3"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CFLAGS": ["-O3"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
