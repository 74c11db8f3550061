/*
 * libglibcxx_shim.so: defines std::ios_base_library_init() under symbol version GLIBCXX_3.4.32.
 *
 * TorchSharp 0.107.0's libLibTorchSharp.so was linked against GCC 13's libstdc++, which added this
 * one symbol (GCC 13 moved iostream initialisation into libstdc++.so and asks every object that
 * includes <iostream> to reference it). Older libstdc++ (GCC 12, Debian 12: GLIBCXX_3.4.30)
 * initialises the standard streams itself, so an empty definition is correct there.
 */
void ios_base_library_init_shim(void) {}

/* The mangled name of std::ios_base_library_init(), bound to the version node from shim.map. */
__asm__(".symver ios_base_library_init_shim,_ZSt21ios_base_library_initv@@GLIBCXX_3.4.32");
