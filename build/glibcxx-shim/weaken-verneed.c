/*
 * weaken-verneed FILE VERSION: marks the version requirement VERSION (e.g. GLIBCXX_3.4.32) in
 * FILE's .gnu.version_r section as weak (VER_FLG_WEAK), so the dynamic loader no longer refuses
 * to load FILE when no library provides that version node. Edits FILE in place; running it twice
 * is harmless. Exit codes: 0 patched or already weak, 1 usage/IO error, 3 requirement not found.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s FILE VERSION\n", argv[0]); return 1; }
    FILE *f = fopen(argv[1], "r+b");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *img = malloc(size);
    if (!img || fread(img, 1, size, f) != (size_t)size) { fprintf(stderr, "%s: read failed\n", argv[1]); return 1; }

    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
        fprintf(stderr, "%s: not a 64-bit ELF file\n", argv[1]); return 1;
    }
    Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *strtab = (const char *)(img + sh[sh[i].sh_link].sh_offset);
        unsigned char *p = img + sh[i].sh_offset;
        for (;;) {
            Elf64_Verneed *vn = (Elf64_Verneed *)p;
            unsigned char *q = p + vn->vn_aux;
            for (int j = 0; j < vn->vn_cnt; j++) {
                Elf64_Vernaux *va = (Elf64_Vernaux *)q;
                if (strcmp(strtab + va->vna_name, argv[2]) == 0) {
                    va->vna_flags |= VER_FLG_WEAK;
                    fseek(f, (long)(q - img), SEEK_SET);
                    if (fwrite(va, sizeof *va, 1, f) != 1 || fclose(f) != 0) { perror(argv[1]); return 1; }
                    return 0;
                }
                if (va->vna_next == 0) break;
                q += va->vna_next;
            }
            if (vn->vn_next == 0) break;
            p += vn->vn_next;
        }
    }
    fprintf(stderr, "%s: no version requirement named %s\n", argv[1], argv[2]);
    return 3;
}
