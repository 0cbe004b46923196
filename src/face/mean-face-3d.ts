/**
 * A 3D mean face for 30 of the 68 landmarks, written for this project from published adult
 * facial anthropometry (not taken from any face model or head-pose repository). Licence: ours,
 * MIT like the rest of the project. (The 68-point mean face that many head-pose repositories
 * ship comes from OpenFace, whose licence forbids commercial use: it is deliberately not used.)
 *
 * Frame (millimetres, right-handed): x to the image's right when the face is frontal (the
 * subject's left), y down (as image rows), z away from the camera (into the head); the nose
 * tip is the origin of z, every other point is behind it (z > 0). The eye line (inner eye
 * corners) is y = 0 and the face's symmetry plane is x = 0.
 *
 * Widths and heights (rounded means of adult men and women; symmetric points get +-half):
 *   en-en 32 (inner eye corners), ex-ex 90 (outer eye corners), ch-ch 52 (mouth corners),
 *   nostril outer points 28 (the 68-scheme's 31/35 lie inside al-al, ~35), zy-zy ~136 (jaw 0/16,
 *   the face's widest contour at eye level), sn-sto 22 (upper lip), sn-gn 72 (lower face),
 *   eyebrow ~20-27 mm above the canthi;
 *   from L. G. Farkas, "Anthropometry of the Head and Face", 2nd ed., Raven Press 1994 (norms of
 *   North American whites, 18-25 years) as quoted in L. G. Farkas et al., "International
 *   anthropometric study of facial morphology in various ethnic groups/races", J. Craniofac.
 *   Surg. 16(4), 2005, and cross-checked against a recent adult table (J. Korean Assoc.
 *   Maxillofac. Plast. Reconstr. Surg., 2019: en-en 32.2, ch-ch 52-56, sn-sto 24-25.5,
 *   zy-zy 130-134, go-go 97-107). Populations differ by several mm; the pose fit needs ratios.
 *
 * Depths (z, behind the nose tip), estimated by us from profile norms:
 *   - nasal tip protrusion sn-prn ~19-20 mm (Farkas): subnasale z = 19, nostrils z = 22;
 *   - nasofacial angle ~36 deg (Powell & Humphreys, "Proportions of the Aesthetic Face", 1984)
 *     over a nasal dorsum of ~45 mm: 45 * sin 36 = 26 mm, so the nasion (27) z = 26;
 *   - Ricketts' E-line (nose tip to chin): upper lip ~4 mm, lower lip ~2 mm behind it: with the
 *     soft-tissue chin ~32 mm behind the tip, ls z = 17, li z = 21, menton (8) z = 38;
 *   - eyes: the corneal apex lies ~16 mm in front of the lateral orbital rim (Hertel
 *     exophthalmometry norms); the inner canthus ~10 mm behind the nasion's surface (z = 36),
 *     the outer canthus ~10 mm behind the inner (z = 46);
 *   - brows: on the supraorbital ridge, the inner ends near the glabella (z = 22), the outer
 *     ends above the lateral orbital rim (z = 50);
 *   - mouth corners: ~18 mm back along the dental arch from the upper lip (z = 35);
 *   - jaw contour (0/16, 4/12, 6/10): silhouette points, not fixed anatomical ones (they slide
 *     over the cheek as the head turns); depths are our rough estimates of where the frontal
 *     silhouette lies (z = 85, 62, 45). They are the least certain numbers here, which is why
 *     POSE_POINTS (pose.ts) can leave them out.
 * Errors of a few mm scale the recovered angles by a few percent; the model is consistent with
 * itself, which is what the pose tests check, and its fit to real landmarks is measured on the
 * embedded sample (reported in the module's notes).
 */

/** [landmark index, x, y, z] in mm. */
export const MEAN_FACE_3D: readonly (readonly [number, number, number, number])[] = [
  // jaw contour (silhouette)
  [0, -68, 5, 85],
  [16, 68, 5, 85],
  [4, -56, 68, 62],
  [12, 56, 68, 62],
  [6, -38, 98, 45],
  [10, 38, 98, 45],
  [8, 0, 114, 38], // menton / gnathion
  // brows: outer, peak, inner
  [17, -50, -20, 50],
  [26, 50, -20, 50],
  [19, -33, -27, 32],
  [24, 33, -27, 32],
  [21, -11, -22, 22],
  [22, 11, -22, 22],
  // nose
  [27, 0, -5, 26], // nasion (top of the bridge)
  [28, 0, 8, 17], // the dorsum, straight from the nasion to the tip: 1/3 and 2/3 down
  [29, 0, 21, 9],
  [30, 0, 34, 0], // pronasale (tip)
  [31, -14, 40, 22], // nostrils
  [35, 14, 40, 22],
  [33, 0, 42, 19], // subnasale
  // eyes: outer (ex) and inner (en) corners
  [36, -45, -2, 46],
  [45, 45, -2, 46],
  [39, -16, 0, 36],
  [42, 16, 0, 36],
  // mouth
  [48, -26, 65, 35], // cheilion
  [54, 26, 65, 35],
  [51, 0, 56, 17], // labrale superius
  [57, 0, 74, 21], // labrale inferius
  [62, 0, 64, 20], // stomion (inner lip, top)
  [66, 0, 65, 20], // stomion (inner lip, bottom)
] as const;
